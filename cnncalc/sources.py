"""Where spec text comes from: a file path, ``zoo:NAME`` (a bundled spec) or ``-`` (standard
input).  Every problem reading it is one located :class:`~cnncalc.errors.SpecError` line.

A SOURCE may also name a PyTorch model to import (``torchvision:NAME``, ``file.py:Name``,
``package.module:Name``): :func:`is_model_source` tells which from the text alone, so that a
command given a spec never loads the importer.

The bundled specs live in ``cnncalc/specs/`` (package data; the checkout's top-level
``specs/`` is a link to it), one file per architecture; sub-folders hold examples that are not
architectures.  Both :mod:`cnncalc.spec` (which parses the text) and :mod:`cnncalc.zoo`
(which analyses every bundled spec) read them through here, so neither imports the other to
find a file.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from .errors import Issue, Location, SpecError
from .layers import closest

SPEC_DIR = Path(__file__).with_name("specs")
MAX_FILE_BYTES = 20 * 1024 * 1024

# compiled when first used (re caches them): inspect zoo:NAME never pays
PY_SOURCE = r"^(?P<path>.+\.py):(?P<name>[A-Za-z_]\w*)$"
PKG_SOURCE = r"^(?P<module>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*):(?P<name>[A-Za-z_]\w*)$"


def is_model_source(source: str | os.PathLike) -> bool:
    """``torchvision:NAME``, ``file.py:Name`` or ``package.module:Name``: a model to import,
    not a spec (``zoo:NAME``, a path, ``-`` or YAML text)."""
    text = str(source)
    if text.startswith("zoo:") or "\n" in text:
        return False
    return text.startswith("torchvision:") or bool(re.match(PY_SOURCE, text)) or bool(
        re.match(PKG_SOURCE, text)) and not text.endswith((".yaml", ".yml"))


def bundled_names() -> list[str]:
    """The names of the bundled specs, sorted (examples left out)."""
    return sorted(p.stem for p in SPEC_DIR.glob("*.yaml"))


def bundled_path(name: str) -> Path:
    """The file of ``zoo:NAME`` (``examples/NAME`` reaches the examples)."""
    candidate = SPEC_DIR / f"{name}.yaml"
    try:
        if name and ".." not in name and candidate.is_file():
            return candidate
    except OSError:  # a name too long for the file system
        pass
    known = bundled_names()
    near = closest(name, known)
    raise SpecError(Issue(Location(f"zoo:{name}"), "no such bundled spec",
                          hint=f"did you mean zoo:{near}?" if near else
                          f"`cnncalc zoo` lists them: {', '.join(known)}"))


def read_source(source: str | os.PathLike) -> tuple[str, str]:
    """Return ``(text, display name)`` for a path, ``zoo:NAME`` or ``-`` (standard input);
    errors are SpecErrors."""
    src = str(source)
    if src == "-":
        return sys.stdin.read(), "<stdin>"
    if src.startswith("zoo:"):
        return bundled_path(src[4:]).read_text(encoding="utf-8"), src
    if not src.strip():
        raise SpecError(Issue(Location("''"), "the path is empty",
                              hint="give a spec file, zoo:NAME, or - for standard input"))
    path = Path(src)
    try:
        if path.is_dir():
            raise SpecError(Issue(Location(src), "is a directory, not a spec file",
                                  hint=f"give a .yaml file inside it, e.g. {src}/net.yaml"))
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SpecError(Issue(Location(src), f"is {size:,} bytes; a spec is at most "
                                                 f"{MAX_FILE_BYTES:,}"))
        data = path.read_bytes()
    except FileNotFoundError:
        raise SpecError(Issue(Location(src), "no such file",
                              hint="check the path, or use zoo:NAME for a bundled spec "
                                   "(cnncalc zoo lists them)")) from None
    except PermissionError:
        raise SpecError(Issue(Location(src), "permission denied")) from None
    except OSError as e:
        raise SpecError(Issue(Location(src), f"cannot read: {e.strerror or e}")) from None
    try:
        return data.decode("utf-8"), src
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise SpecError(Issue(Location(src, line, col),
                              f"the file is not UTF-8 text (byte 0x{data[e.start]:02x})",
                              hint="save it as UTF-8")) from None
