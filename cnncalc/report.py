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
* ``activations``: elements of each layer's output per sample (in-place activations counted
  as separate).  What a run holds in memory is :mod:`cnncalc.memory`'s, not this sum.
* ``receptive_field``: per axis ``size`` (input pixels one output sees), ``jump`` (input
  pixels between neighbouring outputs) and ``start`` (input coordinate of the first
  output's centre, pixel 0 at 0; negative means it lies in the padding).
"""

from __future__ import annotations

from dataclasses import field, fields
from enum import Enum
from fractions import Fraction
from typing import Any

from .records import record
from .errors import Location
from .codes import CODES, Rule, Severity
from .formulas import Shape


@record
class Counts:
    """What one layer, a group or the whole net counts (conventions above).  Sums are ``+``."""

    params: int = 0
    trainable_params: int = 0
    buffers: int = 0
    macs: int = 0
    connections: int = 0
    activations: int = 0

    def __add__(self, other: "Counts") -> "Counts":
        return Counts(self.params + other.params, self.trainable_params + other.trainable_params,
                      self.buffers + other.buffers, self.macs + other.macs,
                      self.connections + other.connections,
                      self.activations + other.activations)

    @property
    def flops(self) -> int:
        return 2 * self.macs

    @property
    def non_trainable_params(self) -> int:
        return self.params - self.trainable_params

    @classmethod
    def total(cls, items) -> "Counts":
        """The sum of many counts (an empty sum is all zeros).  ``sum(items, Counts())`` says
        the same, but makes a record per addend: group rows re-add their layers, and on a
        100,000-layer net that showed."""
        p = t = b = m = c = a = 0
        for x in items:
            p += x.params
            t += x.trainable_params
            b += x.buffers
            m += x.macs
            c += x.connections
            a += x.activations
        return cls(p, t, b, m, c, a)


COUNT_FIELDS = tuple(f.name for f in fields(Counts))


@record
class AxisRF:
    """Integers, or Fractions where a half pixel or an upsampling makes them fractional."""

    size: int | Fraction
    jump: int | Fraction
    start: int | Fraction


@record
class ReceptiveField:
    h: AxisRF
    w: AxisRF

    @property
    def size(self) -> Fraction:
        return max(self.h.size, self.w.size)


@record
class Row:
    """One line of the summary: a leaf layer, or a group (block, repeat) with its sums."""

    name: str
    kind: str
    depth: int
    input_shape: Shape
    shape: Shape
    counts: Counts
    rf: ReceptiveField | None
    formula: str
    line: int | None = None
    is_group: bool = False
    index: int = -1  # a leaf's position in execution order (network.leaves); -1 for a group


@record
class Diagnostic:
    code: str
    message: str
    layer: str = ""
    loc: Location | None = None
    silenced_by: str = ""  # "allow" (the spec's allow:) or "ignore" (--ignore); "" when active

    @property
    def rule(self) -> Rule:
        return CODES[self.code]

    @property
    def severity(self) -> Severity:
        return CODES[self.code].severity

    @property
    def slug(self) -> str:
        return CODES[self.code].slug


@record
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


class Dtype(str, Enum):
    """The element types the memory model knows (:mod:`cnncalc.memory`)."""

    FP64 = "fp64"
    FP32 = "fp32"
    TF32 = "tf32"  # fp32 storage; only the matmul units round
    FP16 = "fp16"
    BF16 = "bf16"

    def __str__(self) -> str:
        return self.value

    @property
    def bytes(self) -> int:
        return DTYPE_BYTES[self.value]


DTYPE_BYTES = {"fp64": 8, "fp32": 4, "tf32": 4, "fp16": 2, "bf16": 2}


@record(slots=False)
class Report:
    name: str
    input_shape: Shape
    output_shape: Shape
    rows: tuple[Row, ...]
    totals: Counts
    diagnostics: tuple[Diagnostic, ...] = ()
    claims: tuple[ClaimResult, ...] = ()
    source: str = ""
    # a cnncalc.memory.MemoryEstimate, or the function that makes it on first use (None:
    # symbolic or failed): an analysis in a loop (sizes, sweeps) never pays for it unread
    memory_source: Any = field(default=None, repr=False, compare=False)
    failed_at: str | None = None  # the layer that stopped a partial report
    silenced: tuple[Diagnostic, ...] = ()  # by allow: in the spec or --ignore

    @property
    def memory(self):
        """The memory estimate (:mod:`cnncalc.memory`), made when first read."""
        m = self.memory_source
        if callable(m):
            m = m()
            object.__setattr__(self, "memory_source", m)
        return m

    @property
    def layers(self) -> tuple[Row, ...]:
        """The leaf rows, in execution order."""
        return tuple(r for r in self.rows if not r.is_group)

    @property
    def claims_ok(self) -> bool:
        return all(c.ok for c in self.claims)
