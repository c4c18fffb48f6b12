"""What a new user tripped on (issue 17): each item's test, worked out by hand."""

from __future__ import annotations

import json

import pytest

from conftest import ROOT

NET = ROOT / "docs" / "examples" / "net.py"


# --- --input and --arg on every command that takes a PyTorch SOURCE ------------------------

def net_params(width: int) -> int:
    """docs/examples/net.py's Net at 32×32×3, by hand: two 3×3 convs (pad 1) and two 2×2
    pools leave an 8×8 map of 2·width channels for the fc to 10 classes."""
    conv1 = 3 * 3 * 3 * width + width
    conv2 = 3 * 3 * width * (2 * width) + 2 * width
    fc = (2 * width * 8 * 8) * 10 + 10
    return conv1 + conv2 + fc


def test_net_params_by_hand():
    assert net_params(16) == 448 + 4640 + 20490 == 25578
    assert net_params(8) == 224 + 1168 + 10250 == 11642


def test_a_net_that_cannot_run_at_224_is_told_an_option_that_exists(cli):
    pytest.importorskip("torch")
    source = f"{NET}:Net"
    r = cli("inspect", source)
    assert r.exit_code == 2 and "give another --input" in r.stderr
    r = cli("inspect", source, "--input", "32x32x3", "--arg", "width=8", "--format", "json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["input"]["volume"] == "32×32×3"
    assert doc["totals"]["params"] == net_params(8)


@pytest.mark.parametrize("command", [("check",), ("lint",), ("verify", "--iters", "0"),
                                     ("draw", "-o", "-"), ("report", "-o", "-")])
def test_every_command_that_takes_a_source_takes_input_and_arg(cli, command):
    pytest.importorskip("torch")
    r = cli(*command, f"{NET}:Net", "--input", "32x32x3", "--arg", "width=8")
    assert r.exit_code == 0, r.output
    if command[0] == "verify":  # PyTorch's own count of the model, against cnncalc's
        assert f"{net_params(8):,}" in r.stdout
    if command[0] in ("draw", "report"):
        assert "32×32×3" in r.stdout


@pytest.mark.parametrize("command", ["inspect", "check", "lint", "verify", "draw", "report"])
def test_input_and_arg_are_for_a_model_not_a_spec(cli, command):
    r = cli(command, "zoo:lenet5", "--input", "64x64x1")
    assert r.exit_code == 2
    assert "--input is for a PyTorch model SOURCE" in r.stderr
    assert "zoo:lenet5 is a spec" in r.stderr


# --- a volume typed in PyTorch's C×H×W order -------------------------------------------------

def test_conv_on_a_volume_typed_as_c_h_w_says_so(cli):
    # 3x224x224 read as the notes' W×H×D: W = 3, H = 224, D = 224; with F = 3, P = 1, S = 1
    # W' = (3 − 3 + 2)/1 + 1 = 3 and H' = 224: the 3×224×64 nobody meant
    r = cli("conv", "3x224x224", "-K", "64", "-F", "3", "-P", "1")
    assert r.exit_code == 0
    assert "3×224×64" in r.stdout
    assert "PyTorch's C×H×W" in r.stdout and "write 224x224x3" in r.stdout
    doc = json.loads(cli("conv", "3x224x224", "-K", "64", "-F", "3", "-P", "1",
                         "--format", "json").stdout)
    assert len(doc["hints"]) == 1 and "write 224x224x3" in doc["hints"][0]
    right = json.loads(cli("conv", "224x224x3", "-K", "64", "-F", "3", "-P", "1",
                           "--format", "json").stdout)
    assert right["hints"] == [] and right["volume"] == "224×224×64"


@pytest.mark.parametrize("volume", ["32x32x3", "8x8x8", "64x56x56", "7x7x512", "28x28x1"])
def test_a_volume_in_the_notes_order_gets_no_hint(cli, volume):
    assert json.loads(cli("conv", volume, "-K", "4", "-F", "1", "--format",
                          "json").stdout)["hints"] == []


def test_pool_on_a_c_h_w_volume_says_so_even_when_it_fails(cli):
    # W = 1 < F = 2: the window does not fit, and the reason is the order
    r = cli("pool", "1x28x28", "-F", "2")
    assert r.exit_code == 2
    assert "larger than the padded input" in r.stderr
    assert "1 map of 28×28" in r.stderr and "write 28x28x1" in r.stderr
    r = cli("pool", "3x32x32", "-F", "2")  # W' = ⌊(3 − 2)/2⌋ + 1 = 1: it runs, and is told
    assert r.exit_code == 0 and "1×16×32" in r.stdout and "write 32x32x3" in r.stdout


def test_one_pixel_is_singular(cli):
    # 'same' with an even kernel at stride 1: 2p = F − 1 = 1 pixel in all
    r = cli("conv", "8x8x1", "-K", "1", "-F", "2", "-P", "same")
    assert "needs 1 pixel of padding" in r.stdout and "1 pixels" not in r.stdout


# --- settings not indented under their kind ---------------------------------------------------

def test_settings_beside_their_kind_are_told_to_indent(cli, tmp_path):
    spec = tmp_path / "net.yaml"
    spec.write_text("input: 32x32x3\n"
                    "layers:\n"
                    "  - conv:\n"
                    "    filters: 6\n"        # line 4, column 5: beside conv, not under it
                    "    size: 5\n"
                    "  - relu\n")
    r = cli("inspect", spec)
    assert r.exit_code == 2
    assert r.stderr.splitlines() == [
        f"{spec}:4:5: error: layers[0] → 'filters' and 'size' are settings of conv, but they "
        f"stand beside 'conv:', not under it; indent them under 'conv:' (two spaces further in "
        f"than 'conv'), or write conv: {{filters: 6, size: 5}}"]
    assert "split it" not in r.stderr
    # indented as the hint says, it runs: (32 − 5)/1 + 1 = 28
    spec.write_text(spec.read_text().replace("    filters", "      filters")
                    .replace("    size", "      size"))
    r = cli("inspect", spec, "--format", "json")
    assert r.exit_code == 0 and json.loads(r.stdout)["output"]["volume"] == "28×28×6"


def test_two_kinds_in_one_item_still_split(cli, tmp_path):
    spec = tmp_path / "net.yaml"
    spec.write_text("input: 32x32x3\nlayers:\n  - conv: {filters: 6, size: 5}\n    relu:\n")
    r = cli("inspect", spec)
    assert r.exit_code == 2 and "split it into one list item per layer" in r.stderr


# --- draw and report say which claim fails ---------------------------------------------------

@pytest.mark.parametrize("command, suffix", [("draw", "svg"), ("report", "html")])
def test_draw_and_report_name_the_wrong_claim(cli, tmp_path, command, suffix):
    # (3·3·3)·4 + 4 = 112 params, not 100; the output 6×6×4 is right: (8 − 3)/1 + 1 = 6
    spec = tmp_path / "wrong.yaml"
    spec.write_text("input: 8x8x3\nlayers:\n  - conv: {filters: 4, size: 3}\n"
                    "    expect: {params: 100, output: 6x6x4}\n")
    out = tmp_path / f"wrong.{suffix}"
    r = cli(command, spec, "-o", out)
    assert r.exit_code == 1 and out.exists()
    assert r.stderr.splitlines() == [f"wrote {out}",
                                     f"{spec}:4:22: wrong: conv1 params: claimed 100, right 112"]


@pytest.mark.parametrize("command", ["draw", "report"])
def test_draw_and_report_help_says_what_exit_1_means(cli, command):
    text = " ".join(cli(command, "--help").stdout.split())
    assert "Exits 1 when an expect: claim is wrong" in text


# --- check: a wrong total shows its terms; rounding up is named ------------------------------

LENET = ("input: 32x32x1\nlayers:\n  - conv: {filters: 6, size: 5}\n  - relu\n  - pool: 2\n"
         "  - conv: {filters: 16, size: 5}\n  - pool: 2\n  - flatten\n  - fc: 120\n  - fc: 84\n"
         "  - fc: 10\n")


def test_a_wrong_total_shows_its_largest_terms(cli, tmp_path):
    # by hand: conv1 (5·5·1)·6 + 6 = 156, conv2 (5·5·6)·16 + 16 = 2,416, fc1 (400 + 1)·120 =
    # 48,120, fc2 (120 + 1)·84 = 10,164, fc3 (84 + 1)·10 = 850: 61,706 in all
    spec = tmp_path / "net.yaml"
    spec.write_text(LENET + "expect: {params: 61000}\n")
    r = cli("check", spec, "--format", "json")
    assert r.exit_code == 1
    (claim,) = json.loads(r.stdout)["results"]
    assert claim["actual"] == 156 + 2416 + 48120 + 10164 + 850 == 61706
    assert claim["formula"] == ("the sum over 9 layers, the largest first: fc1 48,120 + fc2 "
                                "10,164 + conv2 2,416 + 2 more 1,006 = 61,706")  # 850 + 156
    assert claim["hint"] == ""


def test_a_total_that_leaves_out_a_layer_says_which(cli, tmp_path):
    spec = tmp_path / "net.yaml"
    spec.write_text(LENET + f"expect: {{params: {61706 - 48120}}}\n")
    (claim,) = json.loads(cli("check", spec, "--format", "json").stdout)["results"]
    assert claim["hint"] == "left out fc1 (48,120)"


@pytest.mark.parametrize("layer, right, claimed, exact", [
    # (15 − 2)/2 + 1 = 7.5: PyTorch floors it to 7; rounding up claims 8
    ("conv: {filters: 20, size: 2, stride: 2}", "7×7×20", "8x8x20", "(15 − 2 + 2·0)/2 + 1 = 7.5"),
    # (15 − 3 + 2·1)/4 + 1 = 4.5 → 4; rounded up 5
    ("pool: {size: 3, stride: 4, pad: 1}", "4×4×3", "5x5x3", "(15 − 3 + 2·1)/4 + 1 = 4.5"),
])
def test_rounding_up_a_fractional_size_is_named(cli, tmp_path, layer, right, claimed, exact):
    spec = tmp_path / "net.yaml"
    spec.write_text(f"input: 15x15x3\nlayers:\n  - {layer}\n    expect: {{output: {claimed}}}\n")
    (claim,) = json.loads(cli("check", spec, "--format", "json").stdout)["results"]
    assert claim["actual"] == right
    assert claim["hint"].startswith("rounded up instead of flooring")
    assert f"{exact} → floor {right[0]}" in claim["hint"]


def test_rounded_up_is_a_shared_size_slip():
    from cnncalc.layers.slips import axis_slips
    from cnncalc.formulas import AxisOut

    # 15 pixels, F = 2, S = 2: (15 − 2)/2 + 1 = 7.5, floored 7, remainder 1
    assert axis_slips(AxisOut(15, 2, 2, (0, 0), 7, 1), 2)["rounded_up"] == 8
    # 16 pixels: (16 − 2)/2 + 1 = 8 exactly; rounding up changes nothing
    assert axis_slips(AxisOut(16, 2, 2, (0, 0), 8, 0), 2)["rounded_up"] == 8


# --- cosmetics ---------------------------------------------------------------------------------

def test_piped_output_has_no_trailing_spaces():
    import subprocess
    import sys

    for args in (["inspect", "zoo:lenet5"], ["conv", "32x32x3", "-K", "4", "-F", "3"],
                 ["check", str(ROOT / "docs" / "examples" / "hw1.yaml")], ["zoo"]):
        run = subprocess.run([sys.executable, "-m", "cnncalc", *args], capture_output=True,
                             text=True, cwd=ROOT)
        lines = run.stdout.splitlines()
        assert len(lines) > 3, args
        assert [line for line in lines if line.endswith(" ")] == [], args


def test_a_terminal_still_gets_rich_colour():
    import os
    import pty
    import subprocess
    import sys

    main, child = pty.openpty()
    env = dict(os.environ, COLUMNS="100", TERM="xterm-256color")
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen([sys.executable, "-m", "cnncalc", "conv", "32x32x3", "-K", "4",
                             "-F", "3"], stdout=child, stderr=child, cwd=ROOT, env=env)
    os.close(child)
    out = b""
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    proc.wait()
    os.close(main)
    text = out.decode("utf-8")
    assert "\x1b[1m" in text and "30×30×4" in text  # bold labels, as rich writes them


def test_a_number_with_no_shorter_form_is_written_once(cli, tmp_path):
    # fc from 50 to 10: (50 + 1)·10 = 510 params, 50·10 = 500 MACs
    spec = tmp_path / "small.yaml"
    spec.write_text("input: 50\nlayers:\n  - fc: 10\n")
    lines = cli("inspect", spec).stdout.splitlines()
    assert any(line.split() == ["Total", "params", "510"] for line in lines)
    assert any(line.split()[:2] == ["MACs", "500;"] for line in lines)
    from cnncalc.formatting import with_short

    assert with_short(510) == "510" and with_short(61706) == "61,706 (61.71 k)"


def test_the_picture_of_a_failing_spec_says_where_it_stops(cli):
    # docs/examples/broken.yaml: the residual's main path halves 28 to 14, its identity
    # shortcut keeps 28: the add fails, so there is no output (inspect: "Output none"); before
    # it conv1, layer2.0.conv1 and layer2.0.conv2 each hold 3·3·64·64 + 64 = 36,928: 110,784
    broken = ROOT / "docs" / "examples" / "broken.yaml"
    inspect = cli("inspect", broken)
    assert "none: the net stops at layer2.0" in inspect.stdout
    svg = cli("draw", broken, "-o", "-")
    assert svg.exit_code == 2
    assert "→ output none: the net stops at layer2.0 · before it: 110,784 params" in svg.stdout
    assert "→ output 14×14×64" not in svg.stdout and "→ output 28×28×64" not in svg.stdout
    html = cli("report", broken, "-o", "-").stdout
    assert "→ output none: the net stops at layer2.0" in html


def test_a_misspelt_setting_beside_its_kind_is_named_too(cli, tmp_path):
    spec = tmp_path / "net.yaml"
    spec.write_text("input: 32x32x3\nlayers:\n  - conv:\n    filters: 6\n    sise: 5\n")
    r = cli("inspect", spec)
    assert r.exit_code == 2
    (line,) = r.stderr.splitlines()
    assert line.startswith(f"{spec}:4:5: error: layers[0] → 'filters' and 'sise' ")
    assert "indent them under 'conv:'" in line and "or write conv: {filters: 6, size: 5}" in line
    assert line.endswith("'sise' is not a setting of conv: did you mean 'size'?")
