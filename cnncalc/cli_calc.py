"""The one-off calculators: ``conv``, ``pool``, ``deconv``, ``fc``, ``pad``, ``solve``,
``sizes`` and ``apply`` (:mod:`cnncalc.cli` registers them)."""

from __future__ import annotations

import click

from .cli_common import console, guarded, format_option
from .errors import UsageError
from .numeric import ACTIVATIONS


def _calc_out(report, fmt) -> None:
    from .render import calc as view
    from .render.document import dumps

    if fmt == "json":
        click.echo(dumps(view.calc_json(report)))
    else:
        console().print(view.calc_view(report))


@click.command()
@click.argument("volume")
@click.option("-K", "--filters", type=int, help="K, the number of filters (depthwise: D).")
@click.option("-F", "--size", help="F, the kernel size: N or h,w.")
@click.option("-S", "--stride", help="S (1): N or h,w.")
@click.option("-P", "--pad", help="P (0): N, h,w, same (⌈N/S⌉), valid or keep (N).")
@click.option("--dilation", help="d (1).")
@click.option("--groups", type=int, help="g (1).")
@click.option("--depthwise", is_flag=True, default=None, help="One filter per input map.")
@click.option("--bias/--no-bias", default=None, help="One shared bias per filter (on).")
@format_option(("table", "json"))
@guarded
def conv(volume, filters, size, stride, pad, dilation, groups, depthwise, bias, fmt):
    """One conv layer on a volume: output, params, MACs and the formula.

    VOLUME is W×H×D as in the notes, for example 32x32x3."""
    from .calc import int_pair, one_layer, pad_value

    _calc_out(one_layer("conv", volume, {
        "filters": filters, "size": int_pair(size, "size"), "stride": int_pair(stride, "stride"),
        "pad": pad_value(pad), "dilation": int_pair(dilation, "dilation"), "groups": groups,
        "depthwise": depthwise, "bias": bias}), fmt)


@click.command()
@click.argument("volume")
@click.option("-F", "--size", help="F, the window: N or h,w.")
@click.option("-S", "--stride", help="S (= F): N or h,w.")
@click.option("-P", "--pad", help="P (0): N or h,w.")
@click.option("--mode", type=click.Choice(["max", "avg"]), default=None,
              help="max (default) or avg.")
@click.option("--ceil", is_flag=True, default=None, help="Round the output size up (ceil_mode).")
@format_option(("table", "json"))
@guarded
def pool(volume, size, stride, pad, mode, ceil, fmt):
    """One pooling layer on a volume: output and the formula.

    VOLUME is W×H×D as in the notes, for example 28x28x6."""
    from .calc import int_pair, one_layer

    _calc_out(one_layer("pool", volume, {
        "size": int_pair(size, "size"), "stride": int_pair(stride, "stride"),
        "pad": int_pair(pad, "pad"), "mode": mode, "ceil": ceil}), fmt)


@click.command()
@click.argument("volume")
@click.option("-K", "--filters", type=int, help="K, the number of output maps.")
@click.option("-F", "--size", help="F, the kernel size: N or h,w.")
@click.option("-S", "--stride", help="S (1): N or h,w.")
@click.option("-P", "--pad", help="P (0), cropped from each side: N or h,w.")
@click.option("--output-pad", help="Extra rows/columns on one side (0; < S): N or h,w.")
@click.option("--dilation", help="d (1).")
@click.option("--groups", type=int, help="g (1).")
@click.option("--bias/--no-bias", default=None, help="One bias per output map (on).")
@format_option(("table", "json"))
@guarded
def deconv(volume, filters, size, stride, pad, output_pad, dilation, groups, bias, fmt):
    """One transposed conv on a volume: (N − 1)·S − 2P + d·(F − 1) + output_pad + 1.

    VOLUME is W×H×D as in the notes, for example 16x16x64."""
    from .calc import int_pair, one_layer

    _calc_out(one_layer("deconv", volume, {
        "filters": filters, "size": int_pair(size, "size"), "stride": int_pair(stride, "stride"),
        "pad": int_pair(pad, "pad"), "output_pad": int_pair(output_pad, "output_pad"),
        "dilation": int_pair(dilation, "dilation"), "groups": groups, "bias": bias}), fmt)


@click.command()
@click.argument("input_", metavar="INPUT")
@click.option("-U", "--units", type=int, help="The number of output neurons.")
@click.option("--bias/--no-bias", default=None, help="One bias per unit (on).")
@format_option(("table", "json"))
@guarded
def fc(input_, units, bias, fmt):
    """One fully connected layer: (in + 1)·units params, in·units MACs.

    INPUT is a vector length (400) or a W×H×D volume (5x5x16), flattened first."""
    from .calc import one_layer

    _calc_out(one_layer("fc", input_, {"units": units, "bias": bias}), fmt)


@click.command()
@click.argument("n", type=click.IntRange(min=1))
@click.option("-F", "--size", type=click.IntRange(min=1), required=True,
              help="F, the kernel size.")
@click.option("-S", "--stride", type=click.IntRange(min=1), default=1, show_default=True,
              help="S.")
@click.option("--dilation", type=click.IntRange(min=1), default=1, show_default=True, help="d.")
@format_option(("table", "json"))
@guarded
def pad(n, size, stride, dilation, fmt):
    """The padding that keeps size N ('same'): p = (N(s − 1) + F − s)/2."""
    from .calc import same_pad
    from .render import calc as view
    from .render.document import dumps

    sp = same_pad(n, size, stride, dilation)
    if fmt == "json":
        click.echo(dumps(view.pad_json(sp)))
    else:
        for line in view.pad_lines(sp):
            click.echo(line)


@click.command("solve")
@click.argument("unknown")
@click.option("-N", "--input", "input", type=int, help="N, the input size along one axis.")
@click.option("-O", "--output", "output", type=int,
              help="The output size wanted (none: the values that make it whole).")
@click.option("-F", "--size", type=int, help="F, the kernel size.")
@click.option("-S", "--stride", type=int, help="S (1).")
@click.option("-P", "--pad", type=int, help="P (0), on each side.")
@click.option("--dilation", type=int, help="d (1).")
@click.option("--ceil", is_flag=True, help="Pooling's ceil mode: round the output up.")
@click.option("--range", "span", help="LO..HI: the values of the unknown to try.")
@format_option(("table", "json"))
@guarded
def solve_cmd(unknown, input, output, size, stride, pad, dilation, ceil, span, fmt):  # noqa: A002
    """Every whole-number value of one unknown of a conv or pool layer: UNKNOWN is N (input),
    F (size), S (stride), P (pad) or d (dilation); give the others.

    With --output, the values that give it (PyTorch floors (N − F + 2P)/S + 1); without,
    those that make it whole.  Example: cnncalc solve P -N 224 -O 112 -F 7 -S 2
    """
    from .render import input_sizes as render_sizes
    from .render.document import dumps
    from .calc import parse_range, solve

    sol = solve(unknown, {"input": input, "size": size, "stride": stride, "pad": pad,
                          "dilation": dilation}, output, parse_range(span), ceil)
    if fmt == "json":
        click.echo(dumps(render_sizes.solve_json(sol)))
    else:
        for line in render_sizes.solve_lines(sol):
            click.echo(line)


@click.command("sizes")
@click.argument("file")
@click.option("--exact", is_flag=True,
              help="Also the sizes where no layer floors: (N − F + 2P)/S + 1 whole everywhere.")
@click.option("--want-output", "want", type=click.IntRange(min=1),
              help="The inputs that give this output size (the nearest when none does).")
@format_option(("table", "json"))
@guarded
def sizes_cmd(file, exact, want, fmt):
    """Which input sizes FILE works for, along each spatial axis: where it runs, where no layer
    floors (--exact), the output as a function of the input, and why the others fail.

    The input's height and width become symbols H and W; the answer is exact (it repeats
    with the product of the strides) and confirmed by the engine.  FILE is a spec or zoo:NAME.
    """
    from .render import input_sizes as render_sizes
    from .render.document import dumps
    from .input_sizes import find_sizes
    from .spec import load

    result = find_sizes(load(file), want=want, exact=exact)
    if fmt == "json":
        click.echo(dumps(render_sizes.sizes_json(result, exact)))
    else:
        console().print(render_sizes.sizes_view(result, exact))


@click.command()
@click.option("--input", "input_", required=True, help="Matrix file, or inline \"1 2; 3 4\".")
@click.option("--kernel", "kernels", multiple=True,
              help="Kernel matrix (file or inline); repeat for several filters.")
@click.option("--bias", "biases", type=float, multiple=True,
              help="Bias: one for all kernels, or one per kernel.")
@click.option("--stride", type=click.IntRange(min=1), help="S (conv: 1; pool only: = F).")
@click.option("--pad", type=click.IntRange(min=0), help="P, zero padding (0).")
@click.option("--act", type=click.Choice(list(ACTIVATIONS)), help="Activation.")
@click.option("--pool", type=click.Choice(["max", "avg"]), help="Pool after the conv.")
@click.option("--size", "pool_size", type=click.IntRange(min=1), help="F, the pooling window.")
@click.option("--pool-stride", type=click.IntRange(min=1), help="Pooling stride (= --size).")
@click.option("--steps", is_flag=True, help="Show one output element's sum term by term.")
@click.option("--at", "at", default="1,1", show_default=True,
              help="With --steps: the element (row,column, from 1).")
@format_option(("table", "json"))
@guarded
def apply(input_, kernels, biases, stride, pad, act, pool, pool_size, pool_stride, steps, at,
          fmt):
    """Convolve (and/or pool) a small matrix numerically, as in the notes' exercises."""
    from .matrix import read_matrix
    from .numeric import apply as run_apply, tidy
    from .render import apply as view
    from .render.document import dumps

    x, _ = read_matrix(input_, "--input")
    ks = [read_matrix(k, "--kernel")[0] for k in kernels]
    try:
        r, c = (int(v) - 1 for v in at.split(","))
    except ValueError:
        raise UsageError(f"expected row,column such as 1,1, got {at!r}", param="at") from None
    applied = run_apply(x, ks or None, [tidy(b) for b in biases], stride, pad, act, pool,
                        pool_size, pool_stride, (r, c) if steps else None)
    if fmt == "json":
        click.echo(dumps(view.apply_json(applied)))
    else:
        console().print(view.apply_view(applied))
