"""The parallel run's groups: pytest-xdist's ``--dist loadgroup`` (``pyproject.toml``) sends the
tests of one ``xdist_group`` to one worker, so what they share (a spec's brute force over 512
sizes, one memory tracking, one Chromium) is computed once.  xdist reads the group from a
suffix it writes on each test's id; pytest 9.2 builds ids from a structure xdist 3.8 does not
write to, and every group was split silently (the suite took 150 s instead of 130)."""

from __future__ import annotations

import pytest


@pytest.mark.xdist_group("suite-groups")
def test_a_group_reaches_the_scheduler(request):
    if not request.config.getoption("loadgroup", False):
        pytest.skip("not a worker of --dist loadgroup (-n0, or another --dist): no groups")
    assert request.node.nodeid.endswith("@suite-groups"), (
        f"{request.node.nodeid}: pytest-xdist's group suffix is missing, so the groups are "
        f"split over the workers (a pytest that xdist does not support?)")
