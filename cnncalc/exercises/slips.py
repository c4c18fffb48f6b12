"""Slips the exercises need beyond the layers' own (:mod:`cnncalc.layers.slips`, gathered by
:func:`engine_slips`): a slip is ``(wrong value, what went wrong)``, as there.

New here: rounding up instead of flooring (``rounded_up_slip``; the ``ux`` branch adds a shared
size slip for this to ``layers/slips.py``: when both are merged, ``rounded_up_slip`` can call
it), padding on one side only when solving for P, the strides that fit, a stack's receptive
field, a network's total, and the numeric exercises (bias, ReLU, flipped kernel, padding).
"""

from __future__ import annotations

import math
from typing import Any

from ..hints import generic_slips, rf_slips
from ..layers.slips import Slip
from ..formulas import DOT, MINUS, AxisOut, Shape


def engine_slips(layer, row, field: str, actual: Any) -> list[Slip]:
    """Every candidate :func:`cnncalc.hints.hint_for` tries, in its order (it keeps only the
    first match; a grader needs them all to store in the key)."""
    x, y = row.input_shape, row.shape
    found = list(layer.slips(field, x, y))
    if field == "rf":
        found += rf_slips(layer, x, actual)
    return found + generic_slips(field, actual, row)


def rounded_up_slip(a: AxisOut, depth: int) -> list[Slip]:
    """``(N − F + 2P)/S`` not whole, rounded up: PyTorch (and the notes' output) floors it."""
    if a.exact:
        return []
    span = a.n - a.f + a.pad[0] + a.pad[1]
    up = math.ceil(span / a.s) + 1
    return [(Shape(depth, up, up),
             f"rounded up: ({a.n} {MINUS} {a.f} + {a.pad[0] + a.pad[1]})/{a.s} = {span}/{a.s} "
             f"is not whole, and the window cannot hang over the edge, so it rounds down "
             f"(PyTorch floors): {span // a.s} + 1 = {a.out}")]


def one_side_pad_slips(n: int, f: int, s: int, p: int) -> list[Slip]:
    """Solving ``(N − F + 2P)/S + 1 = N`` for P with the padding on one side only."""
    total = n * (s - 1) + f - s
    out: list[Slip] = [(total, f"padded one side only: the zeros go on both sides, so "
                               f"2P = {total} and P = {p}")]
    if s != 1 and (f - 1) % 2 == 0:
        out.append(((f - 1) // 2, f"used p = (F {MINUS} 1)/2, which keeps the size only at "
                                  f"stride 1; at S = {s} it is p = (N(s {MINUS} 1) + F {MINUS} "
                                  f"s)/2 = {p}"))
    return out


def stride_slips(n: int, f: int, p: int, candidates: list[int]) -> list[Slip]:
    span = n - f + 2 * p
    out: list[Slip] = [(list(candidates), f"listed every stride: PyTorch floors the others, "
                                          f"but then the last rows and columns are never read; "
                                          f"S fits when it divides N {MINUS} F + 2P = {span}")]
    if p:
        no_pad = [s for s in candidates if (n - f) % s == 0]
        out.append((no_pad, f"left out the padding: N {MINUS} F + 2P = {n} {MINUS} {f} + "
                            f"2{DOT}{p} = {span}, not {n - f}"))
    out.append(([s for s in candidates if n % s == 0],
                f"divided N by S; S must divide N {MINUS} F + 2P = {span}"))
    return out


def rf_stack_slips(kernels: list[int], strides: list[int], right: int) -> list[Slip]:
    plain = 1 + sum(k - 1 for k in kernels)
    return [
        (plain, f"left out the strides: each layer adds (F {MINUS} 1)·j, where j is the "
                f"product of the strides before it ({right})"),
        (sum(kernels), f"added the kernels; each layer adds F {MINUS} 1 input steps, times the "
                       f"jump j: r' = r + (F {MINUS} 1)·j ({right})"),
        (math.prod(kernels), f"multiplied the kernels; the field grows by adding "
                             f"(F {MINUS} 1)·j per layer ({right})"),
    ]


def total_slips(params: int, biases: int, macs: int, bias_macs: int, field: str) -> list[Slip]:
    if field == "params":
        return [(params - biases, f"forgot the biases: each conv filter and each fc unit has "
                                  f"one, {biases} in all")]
    return [(2 * macs, f"that is FLOPs = 2{DOT}MACs; one MAC is one multiply-accumulate"),
            (macs + bias_macs, "counted the bias adds; MACs count the weight multiplies only")]

