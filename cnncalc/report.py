"""What an analysis returns: plain frozen dataclasses, no printing.

Counting conventions (stated once; the README repeats them)
-----------------------------------------------------------
* ``params``: learnable weights and biases, exactly what PyTorch's ``parameters()`` counts and
  what torchvision and the papers quote.  ``trainable_params`` leaves out layers marked
  ``frozen: true``.
* ``buffers``: non-learnable state, i.e. batch norm's running mean and variance (2·D).  Keras
  calls these "non-trainable params".  PyTorch also keeps a one-element step counter
  (``num_batches_tracked``) per BN layer; it is not counted.
* ``macs``: multiply-accumulates of conv and fc weights per sample (fvcore's "flop"), bias
  adds excluded; activations, pooling and normalisation count 0.  FLOPs = 2·MACs.
* ``connections``: LeCun's count (LeNet-5 paper): for each output, one per input it reads,
  plus one for its bias.
* ``activations``: elements of each layer's output per sample; their sum is what a forward
  pass stores for the backward pass (in-place activations counted as separate).
* ``receptive_field``: per axis ``size`` (input pixels one output sees), ``jump`` (input
  pixels between neighbouring outputs) and ``start`` (input coordinate of the first
  output's centre, pixel 0 at 0; negative means it lies in the padding).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from .errors import Location
from .shapes import Shape


# Stable diagnostic codes: the rule, its severity and the one-line reason from the notes.
CODES: dict[str, tuple[str, str, str]] = {
    "CN101": ("fractional-output", "warning",
              "(N − F + 2P)/S + 1 must be a whole number; PyTorch floors it and drops border pixels"),
    "CN102": ("asymmetric-same", "warning",
              "'same' padding whose total is odd (an even kernel, or a stride) cannot be "
              "symmetric"),
    "CN103": ("pool-padding", "note", "it is not common to zero-pad a pooling layer"),
    "CN104": ("shrinks-too-fast", "note", "shrinking too fast is not good"),
    "CN105": ("misaligned-merge", "warning",
              "merged paths step over the input with different jumps"),
    "CN106": ("stride-skips-input", "note", "a stride larger than the kernel never reads "
                                               "some input pixels"),
    # network-level rules, found by `cnncalc lint` (cnncalc/lint.py)
    "CN201": ("fc-dominates", "note",
              "one fc layer holds most of the parameters; the notes: convolution shares weights "
              "to cut them, fully connected layers have many more"),
    "CN202": ("bias-before-bn", "note",
              "a bias right before batch norm is cancelled by BN's mean subtraction (β "
              "replaces it): set bias: false"),
    "CN203": ("dropout-between-convs", "note",
              "the notes: dropout is less effective to regularize convolution layers; put it "
              "on the fc layers (or rely on batch norm)"),
}


@dataclass(frozen=True, slots=True)
class AxisRF:
    size: Fraction
    jump: Fraction
    start: Fraction


@dataclass(frozen=True, slots=True)
class ReceptiveField:
    h: AxisRF
    w: AxisRF

    @property
    def size(self) -> Fraction:
        return max(self.h.size, self.w.size)


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the summary: a leaf layer, or a group (block, repeat) with its sums."""

    name: str
    kind: str
    depth: int
    input_shape: Shape
    shape: Shape
    params: int
    trainable_params: int
    buffers: int
    macs: int
    connections: int
    activations: int
    rf: ReceptiveField | None
    formula: str
    line: int | None = None
    is_group: bool = False


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    severity: str
    message: str
    layer: str = ""
    loc: Location | None = None

    @property
    def slug(self) -> str:
        return CODES.get(self.code, (self.code,))[0]


@dataclass(frozen=True, slots=True)
class ClaimResult:
    """One ``expect:`` claim, checked."""

    layer: str  # "" for the whole net
    field: str
    expected: Any
    actual: Any
    ok: bool
    formula: str
    loc: Location | None = None
    hint: str = ""


@dataclass(frozen=True, slots=True)
class Totals:
    params: int
    trainable_params: int
    buffers: int
    macs: int
    connections: int
    activations: int
    input_elements: int

    @property
    def flops(self) -> int:
        return 2 * self.macs


DTYPE_BYTES = {"fp64": 8, "fp32": 4, "tf32": 4, "fp16": 2, "bf16": 2, "int8": 1}


@dataclass(frozen=True, slots=True)
class Memory:
    """Bytes, for a dtype and batch.  Training: weights + grads + Adam's 2 moments +
    the activations kept for the backward pass (and the input)."""

    dtype: str
    batch: int
    params_bytes: int
    buffers_bytes: int
    input_bytes: int
    activations_bytes_per_sample: int
    activations_bytes: int
    inference_bytes: int
    training_bytes: int


def memory(totals: Totals, dtype: str = "fp32", batch: int = 1) -> Memory:
    b = DTYPE_BYTES[dtype]
    weights = totals.params * b
    buffers = totals.buffers * b
    grads_and_adam = 3 * totals.trainable_params * b
    act = totals.activations * b
    inp = totals.input_elements * b * batch
    return Memory(dtype, batch, weights, buffers, inp, act, act * batch,
                  weights + buffers + inp + act * batch,
                  weights + buffers + grads_and_adam + inp + act * batch)


@dataclass(frozen=True)
class Report:
    name: str
    input_shape: Shape
    output_shape: Shape
    rows: tuple[Row, ...]
    totals: Totals
    diagnostics: tuple[Diagnostic, ...] = ()
    claims: tuple[ClaimResult, ...] = ()
    source: str = ""
    memory: Memory | None = None
    extra: dict = field(default_factory=dict)

    @property
    def layers(self) -> tuple[Row, ...]:
        """The leaf rows, in execution order."""
        return tuple(r for r in self.rows if not r.is_group)

    @property
    def claims_ok(self) -> bool:
        return all(c.ok for c in self.claims)
