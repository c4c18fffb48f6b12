"""The contract every layer kind follows, and the validators of its hyperparameters.

A layer kind is one small, torch-free class registered under its YAML key.  Its instance
holds the validated hyperparameters (``self.hp``, a dict with every field filled in) and
answers, for an input shape ``x`` and its own output shape ``y``:

==================  ========================================================================
``output_shape(x)`` the output shape, or ``LayerError`` with the arithmetic that broke
``params(x)``       learnable weights and biases (what PyTorch's ``parameters()`` counts)
``buffers(x)``      non-learnable state (BN running mean and variance)
``macs(x, y)``      multiply-accumulates of conv/fc-style weights, per sample, bias adds
                    excluded (fvcore's "flop"); FLOPs = 2·MACs
``connections``     LeCun's count: for each output, one per input it reads, plus one for
                    its bias
``window(x)``       the step this layer adds to the receptive field, or ``None`` when it
                    is elementwise
``axes(x)``         a sliding window's arithmetic along H and W (two ``AxisOut``), or
                    ``None``: where ``(N − F + 2P)/S`` must be whole
``explain(x, y)``   the formula with the numbers substituted, as a :class:`Formula`
``diagnose(x, y)``  the notes' design rules this layer breaks, as findings
``slips(f, x, y)``  wrong answers for claim field ``f`` with what went wrong (its
                    ``FIELD_slips`` methods; see :mod:`cnncalc.layers.slips`)
==================  ========================================================================

and says, as class attributes, what other parts need to know of the kind:

==================  ========================================================================
``keeps_features``  it leaves the features as they are between two weighted layers
                    (activations, normalisation, pooling, dropout): lint looks past it
``activation``      a nonlinearity (relu, softmax, …): lint notes two in a row
``module``          for a kind whose PyTorch module is built from its settings alone, the
                    ``nn`` module that builds it (``"nn.ReLU"``; its arguments from
                    ``torch.settings``); other kinds have a builder in
``fully_connected`` every output reads every input, so its weights grow with the input's
                    volume: lint notes one holding most of the net's params (CN201)
``convolution``     slides one set of weights over the map: lint notes dropout between two
                    of them (CN203)
``sliding_window``  its output size comes from an F×F window sliding over H and W (conv,
                    deconv, pool): ``cnncalc calc`` hints when its input looks typed in
                    PyTorch's C×H×W order
``dropout``         zeroes single activations at random while training (CN203)
``cancels_bias``    subtracts each map's mean, so a bias just before it learns nothing (CN202;
                    whether a layer has such a bias is its ``has_bias()``)
                    :mod:`cnncalc.backends.recipes`, and a test holds the two together
``saves``           what autograd keeps of this op for the backward pass, PyTorch's rule
                    (``tools/autograd/derivatives.yaml``): a tuple of :data:`SAVED` words;
                    ``None`` means not stated, which :mod:`cnncalc.memory` refuses
``view``            the output is a view of the input (flatten, split): no new memory
``scratch``         what the forward makes and drops even without autograd (max pool's
                    int64 indices on CUDA; ``"workspace"``: the NHWC copies of input and
                    output that cuDNN makes for a half-precision NCHW convolution)
``autocast``        under ``torch.autocast``: ``"low"`` (conv, linear run in bf16/fp16),
                    ``"fp32"`` (softmax, layer norm), ``"keep"`` (the input's type) or
                    ``"promote"`` (a low input times its own fp32 parameters, an op on no
                    autocast list: an fp32 output by type promotion, nothing cast)
``from_trace``      its numbers are a PyTorch trace's, not a formula's (``traced``): it knows
                    one input only, so sizes and symbolic inputs stop at it, verify and
                    export cannot rebuild it, and the receptive field after it is unknown
``torch``           its PyTorch forms (a :class:`Torch`): the module classes and functions
                    that are this kind, and how module attributes map to its fields. The
                    importer dispatches on it (by the module's class hierarchy), the builder
                    and the exporter read it; nothing else names a kind's PyTorch classes
==================  ========================================================================

An activation PyTorch can run in place takes ``inplace: true`` (``nn.ReLU(inplace=True)``):
its output is then its input's storage, and what it saves follows ``reads`` (what the
derivative reads: ``"result"``, the output, or ``"self"``, the input, which an in-place op
must first copy) and ``inplace_reads`` (the in-place op's own entry, where it has one).

A kind whose ``params`` can be non-zero must define ``macs`` too (0 is a statement, as for
batch norm): :func:`cnncalc.layers.register` refuses it otherwise.
"""

from __future__ import annotations

import math
import re
from enum import Enum
from fractions import Fraction
from typing import Any, Callable, ClassVar, Iterable

from ..records import record
from ..formulas import (MAX_SIZE, AxisOut, Shape, axis_formula, symbolic_shape, unread_image,
                      volume_text)
from ..closed_forms import is_symbolic

REQUIRED = object()


class LayerError(Exception):
    """The layer cannot take this input; the message states the arithmetic."""


@record
class Field:
    """One hyperparameter: its YAML name, a parser that validates it, a default and a doc."""

    name: str
    parse: Callable[[Any], Any]
    default: Any = REQUIRED
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


@record
class Finding:
    """A design rule a layer breaks; the engine adds the layer's name and location."""

    code: str
    message: str


@record
class Formula:
    """A layer's explanation in pieces, numbers substituted: ``shape`` (the size arithmetic,
    or a phrase), the ``output`` volume it gives, and labelled counts such as
    ``("params", "(5·5·3)·10 + 10 = 760")``.  ``str()`` gives the one-line text."""

    shape: str
    output: str = ""
    parts: tuple[tuple[str, str], ...] = ()
    sep: str = "; "  # between the head and the counts

    def __str__(self) -> str:
        head = f"{self.shape} → {self.output}" if self.output else self.shape
        if not self.parts:
            return head
        return head + self.sep + "; ".join(f"{label} {text}" for label, text in self.parts)


@record
class AxisWindow:
    """A receptive-field step along one axis: span ``k``, stride ``s``, leading pad ``p``.

    A stride below 1 (a Fraction) is an upsampling: the jump between outputs shrinks.
    """

    k: int | Fraction
    s: int | Fraction
    p: int | Fraction


@record
class Window:
    h: AxisWindow
    w: AxisWindow


# What an op may keep for backward (a kind's ``saves``), as cnncalc.memory sizes it.
SAVED = {
    "input": "its input tensor (the same storage: nothing new while something else holds it)",
    "output": "its output tensor",
    "copy": "a copy of its input: an in-place op whose derivative reads the input",
    "indices": "int64 indices, one per output element (max pool)",
    "stats": "two vectors of D in the weights' type (batch norm's save_mean and save_invstd)",
    "mask": "a bool per output element (dropout's mask)",
    "rows": "two fp32 values per position (layer norm's mean and rstd)",
    "padded": "the squares of the input padded along D by size − 1 (local response norm)",
}
@record
class Torch:
    """A kind's PyTorch forms, declared once on its class (strings: no torch here).

    ``modules``: the classes whose instances are this kind, by qualified name
    (``"torch.nn.Conv2d"``, ``"torchvision.ops.StochasticDepth"``); a subclass is the kind too
    unless it overrides ``forward``.  ``functions``: the names of the functional forms
    (``"relu"`` is ``F.relu``, ``torch.relu``, ``x.relu()`` and ``aten.relu``).
    ``settings``: ``(attribute, field)`` pairs, the module's attribute (and the function's
    keyword) that holds a field's value, both ways: the importer reads the attribute into the
    field, the builder passes the field as that constructor argument.  A field whose name is
    also the module's attribute (``inplace``) maps to it without being listed.
    """

    modules: tuple[str, ...] = ()
    functions: tuple[str, ...] = ()
    settings: tuple[tuple[str, str], ...] = ()

    def attribute(self, field: str) -> str:
        """The module attribute (and constructor argument) that holds ``field``."""
        return next((a for a, f in self.settings if f == field), field)


class Layer:
    """Base class of every layer kind.  The defaults describe an elementwise layer."""

    key: ClassVar[str] = ""
    family: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    fields: ClassVar[tuple[Field, ...]] = ()
    primary: ClassVar[str | None] = None  # the field a scalar sets: ``fc: 84``
    needs_volume: ClassVar[bool] = False  # True when the input must be W×H×D
    needs_vector: ClassVar[bool] = False  # True when the input must be a vector (fc)
    keeps_features: ClassVar[bool] = False
    activation: ClassVar[bool] = False
    fully_connected: ClassVar[bool] = False
    convolution: ClassVar[bool] = False
    sliding_window: ClassVar[bool] = False
    dropout: ClassVar[bool] = False
    cancels_bias: ClassVar[bool] = False
    module: ClassVar[str | None] = None
    saves: ClassVar[tuple[str, ...] | None] = None
    view: ClassVar[bool] = False
    scratch: ClassVar[tuple[str, ...]] = ()
    autocast: ClassVar[str] = "keep"
    identity_in_eval: ClassVar[bool] = False  # dropout: returns its input in eval mode
    backward_scratch: ClassVar[tuple[str, ...]] = ()  # alive during its backward (lrn; split: "others")
    from_trace: ClassVar[bool] = False
    torch: ClassVar[Torch] = Torch()

    __slots__ = ("hp", "_memo")

    def __init__(self, hp: dict[str, Any]):
        self.hp = hp
        self._memo: tuple[Shape, Any] | None = None

    def remembered(self, x: Shape, compute: Callable[[Shape], Any]) -> Any:
        """``compute(x)``, kept for the last ``x``: the engine asks a layer for its shape, window,
        formula and findings on one input in turn (a repeat's shared layer sees several)."""
        memo = self._memo
        if memo is not None and memo[0] == x:
            return memo[1]
        value = compute(x)
        self._memo = (x, value)
        return value

    @classmethod
    def validate(cls, hp: dict[str, Any]) -> list[tuple[str, str]]:
        """Rules across fields, as ``(field, message)`` pairs; each field is already valid."""
        return []

    def output_shape(self, x: Shape) -> Shape:
        self.check_input(x)
        return x

    def params(self, x: Shape) -> int:
        return 0

    def has_bias(self) -> bool:
        """Whether it learns a bias per output map or unit: its ``bias`` setting, where it has
        one."""
        return self.hp.get("bias") is True

    def buffers(self, x: Shape) -> int:
        return 0

    def param_tensors(self, x: Shape) -> tuple[int, ...]:
        """The element count of each parameter tensor (weight, bias), as PyTorch holds them:
        the CUDA allocator rounds each one apart."""
        p = self.params(x)
        return (p,) if p else ()

    def buffer_tensors(self, x: Shape) -> tuple[tuple[int, int], ...]:
        """Each buffer tensor as ``(elements, bytes per element)``; 0 bytes means the
        model's float type (running statistics), 8 an int64 (BN's step counter)."""
        b = self.buffers(x)
        return ((b, 0),) if b else ()

    def saved(self, x: Shape, y: Shape) -> tuple[str, ...] | None:
        """What autograd keeps for this op (``saves``, or a rule on the settings)."""
        return self.saves

    def scratched(self, x: Shape, y: Shape) -> tuple[str, ...]:
        """What the forward makes and drops (``scratch``, or a rule on the shapes)."""
        return self.scratch

    @property
    def in_place(self) -> bool:
        return bool(self.hp.get("inplace", False))

    def macs(self, x: Shape, y: Shape) -> int:
        return 0

    def connections(self, x: Shape, y: Shape) -> int:
        return y.numel

    def window(self, x: Shape) -> Window | None:
        return None

    def axes(self, x: Shape) -> tuple[AxisOut, AxisOut] | None:
        return None

    def explain(self, x: Shape, y: Shape) -> Formula:
        return Formula(f"{self.key}: elementwise, {volume_text(y)} unchanged")

    def diagnose(self, x: Shape, y: Shape) -> Iterable[Finding]:
        return ()

    def slips(self, field: str, x: Shape, y: Shape) -> list:
        if symbolic_shape(x) or symbolic_shape(y):
            return []  # a slip is a wrong number; a closed form has none to match
        method = getattr(self, f"{field}_slips", None)
        return method(x, y) if method is not None else []

    def check_input(self, x: Shape) -> None:
        if self.needs_volume and not x.spatial:
            raise LayerError(
                f"{self.key} needs a W×H×D volume but gets a vector of {x.c}; "
                f"move it before 'flatten'")
        if self.needs_vector and x.spatial:
            raise LayerError(f"{self.key} needs a vector but gets the volume {volume_text(x)}; "
                             f"add '- flatten' before it (or use a 1×1 conv)")


# --- text and findings shared by the families -----------------------------------------------

def n(x: int) -> str:
    """A count in a formula: thousands separated."""
    return f"{x:,}"


def axes_text(h: str, w: str) -> str:
    return h if h == w else f"H: {h}; W: {w}"


SHRINK_FACTOR = 3  # a layer that divides H or W by more than this "shrinks too fast"


def unread_rows(ah: AxisOut, aw: AxisOut, ceil: bool = False) -> tuple[int, int]:
    """The rows and columns of its own input that a floored window never reads (0 along a
    symbolic axis, in ceil mode, or when only zero padding goes unread)."""
    def lost(a: AxisOut) -> int:
        n = unread_image(a)
        return 0 if ceil or is_symbolic(n) else n

    return lost(ah), lost(aw)


def _add(found: list, code: str, per_axis: dict[str, str]) -> None:
    """A finding per axis, or one for "H and W" when both read the same.  ``{line}``: the row,
    the column, or both; ``{is}``: its verb ("are" for both, or several)."""
    if not per_axis:
        return
    lines = {"H": "row", "W": "column"}
    if len(per_axis) == 2 and per_axis["H"] == per_axis["W"]:
        text = per_axis["H"].replace("{line}", "row and column").replace("{is}", "are")
        found.append(Finding(code, f"H and W: {text}"))
    else:
        found.extend(Finding(code, f"{axis}: " + text.replace("{line}", lines[axis])
                             .replace("{is}", "is")) for axis, text in per_axis.items())


def unread_findings(ah: AxisOut, aw: AxisOut, lost: tuple[int, int],
                    image: dict[int, int] | None = None) -> list[Finding]:
    """CN101 for the axes along which ``lost`` rows of the layer's input go unread.  With
    ``image`` (axis → image rows lost, for a layer deeper in the net) only those axes, and the
    text says what the image loses; without it the layer reads the image itself."""
    if not lost[0] and not lost[1]:
        return []
    fractional = {}
    for i, (axis, a) in enumerate((("H", ah), ("W", aw))):
        if not lost[i] or (image is not None and i not in image):
            continue
        exact = axis_formula(a).split(" → ")[0]
        fix = "(pick P or S so that N − F + 2P is a multiple of S)"
        if image is None:
            tail = ("last {line} of the image {is}" if lost[i] == 1 else
                    f"last {lost[i]} {{line}}s of the image are")
            fractional[axis] = (f"{exact} is not a whole number: PyTorch floors it to {a.out}, "
                                f"so the {tail} never read {fix}")
            continue
        mine = "last {line} of its input {is}" if lost[i] == 1 else \
            f"last {lost[i]} {{line}}s of its input are"
        k = image[i]
        theirs = "last {line} of the image" if k == 1 else f"last {k} {{line}}s of the image"
        fractional[axis] = (f"{exact} is not a whole number: PyTorch floors it to {a.out}, so "
                            f"the {mine} never read, and no other path reads the {theirs} "
                            f"{fix}")
    found: list[Finding] = []
    _add(found, "CN101", fractional)
    return found


def window_findings(key: str, ah: AxisOut, aw: AxisOut, size: tuple[int, int],
                    ceil: bool = False) -> list[Finding]:
    """The notes' rules on one sliding window: whole outputs, skipped pixels, fast shrinking.

    A finding that reads the same on both axes is reported once, for "H and W".  Along a
    symbolic axis only what holds at every input size is found: whether a layer floors is
    then a question for ``cnncalc sizes --exact``.  CN101 is said as if the layer read the
    image; in a net the engine keeps it only where no other path reads the pixels
    (:mod:`cnncalc.reads`).
    """
    # Only image pixels lost are a finding: zero padding left unread loses nothing.
    found = unread_findings(ah, aw, unread_rows(ah, aw, ceil))
    skipped = {}
    for axis, a in (("H", ah), ("W", aw)):
        if a.s > a.f:
            skip = a.s - a.f
            skipped[axis] = (f"stride {a.s} is larger than the kernel {a.f}: {skip} of "
                             f"every {a.s} input pixels {'is' if skip == 1 else 'are'} never "
                             f"read")
    _add(found, "CN106", skipped)
    shrinking = {axis: f"{a.n} to {a.out}" for axis, a in (("H", ah), ("W", aw))
                 if not is_symbolic(a.n) and a.out * SHRINK_FACTOR < a.n}
    if shrinking:
        axes = " and ".join(shrinking)
        sizes = " and ".join(dict.fromkeys(shrinking.values()))
        found.append(Finding(
            "CN104", f"{axes} shrink{'s' if len(shrinking) == 1 else ''} from {sizes} in one "
                     f"{key} layer: the notes warn that shrinking too fast loses information"))
    return found



# --- hyperparameter parsers -------------------------------------------------------------
# Each takes the raw YAML value and returns the validated value or raises ValueError with
# a message that says what is accepted.
#
# Each also carries, as its ``schema`` attribute, the JSON Schema (draft-07) fragment of the
# values it accepts, from which :mod:`cnncalc.schema` builds the editor's schema of a spec;
# tests/test_schema.py holds every parser of a registered Field to its fragment.




def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _short(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 24 else f"{text[:20]}… ({len(text)} characters)"


def _bounded(v: int) -> int:
    if v > MAX_SIZE:
        raise ValueError(f"must be at most {MAX_SIZE:,}, got {_short(v)}")
    return v


def pos_int(v: Any) -> int:
    if not _is_int(v) or v < 1:
        raise ValueError(f"must be a positive integer, got {_short(v)}")
    return _bounded(v)


pos_int.schema = {"type": "integer", "minimum": 1, "maximum": MAX_SIZE}


def nonneg_int(v: Any) -> int:
    if not _is_int(v) or v < 0:
        raise ValueError(f"must be an integer ≥ 0, got {_short(v)}")
    return _bounded(v)


nonneg_int.schema = {"type": "integer", "minimum": 0, "maximum": MAX_SIZE}


def _pair(v: Any, item: Callable[[Any], int], what: str) -> tuple[int, int]:
    if isinstance(v, (list, tuple)):
        if len(v) != 2:
            raise ValueError(f"must be one {what} or a pair [h, w], got {list(v)!r}")
        return (item(v[0]), item(v[1]))
    x = item(v)
    return (x, x)


def pos_pair(v: Any) -> tuple[int, int]:
    """An int, or ``[h, w]``, each ≥ 1."""
    return _pair(v, pos_int, "positive integer")


def _pair_schema(item: dict) -> dict:
    return {"anyOf": [item, {"type": "array", "items": item, "minItems": 2, "maxItems": 2}]}


pos_pair.schema = _pair_schema(pos_int.schema)


def nonneg_pair(v: Any) -> tuple[int, int]:
    return _pair(v, nonneg_int, "integer ≥ 0")


nonneg_pair.schema = _pair_schema(nonneg_int.schema)


def _words_schema(words: Iterable[str]) -> dict:
    """Closed words as the parsers read them: any letter case (completion offers the enum)."""
    words = list(words)
    any_case = "|".join("".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c)
                                for c in w) for w in words)
    return {"anyOf": [{"enum": words}, {"type": "string", "pattern": f"^(?:{any_case})$"}]}


# The words `pad:` takes besides numbers; the parser and the schema both read them here.
# same: the output is ⌈N/S⌉ (Keras, TensorFlow); valid: no padding; keep: the notes'
# p = (N(s − 1) + F − s)/2, which keeps N at any stride.
PAD_WORDS = ("same", "valid", "keep")


def padding(v: Any) -> str | tuple[int, int]:
    """``same``, ``valid``, ``keep``, an int or ``[h, w]``."""
    words = ", ".join(f"'{w}'" for w in PAD_WORDS)
    if isinstance(v, str):
        if v.lower() in PAD_WORDS:
            return v.lower()
        raise ValueError(f"must be an integer, [h, w], {words}, got {v!r}")
    try:
        return nonneg_pair(v)
    except ValueError:
        raise ValueError(f"must be an integer ≥ 0, [h, w], {words}, got {v!r}") from None


padding.schema = {"anyOf": [*nonneg_pair.schema["anyOf"], *_words_schema(PAD_WORDS)["anyOf"]]}


def boolean(v: Any) -> bool:
    if not isinstance(v, bool):
        raise ValueError(f"must be true or false, got {v!r}")
    return v


boolean.schema = {"type": "boolean"}


class Choice(str, Enum):
    """A closed choice in a spec (a pool's mode, …): compares and prints as its YAML word."""

    def __str__(self) -> str:
        return self.value


def choice(options: type[Choice]) -> Callable[[Any], Choice]:
    words = [m.value for m in options]

    def parse(v: Any) -> Choice:
        if not isinstance(v, str) or v.lower() not in words:
            raise ValueError(f"must be one of {', '.join(words)}, got {v!r}")
        return options(v.lower())

    parse.__doc__ = " | ".join(words)
    parse.schema = _words_schema(words)
    return parse


def number(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or abs(v) > 1e300 or \
            not math.isfinite(v):
        raise ValueError(f"must be a finite number, got {_short(v)}")
    return v


number.schema = {"type": "number", "minimum": -1e300, "maximum": 1e300}


def probability(v: Any) -> float:
    x = number(v)
    if not 0 <= x < 1:
        raise ValueError(f"must be a probability in [0, 1), got {v!r}")
    return x


probability.schema = {"type": "number", "minimum": 0, "exclusiveMaximum": 1}


def pos_number(v: Any) -> float:
    x = number(v)
    if x <= 0:
        raise ValueError(f"must be a positive number, got {v!r}")
    return x


pos_number.schema = {"type": "number", "exclusiveMinimum": 0, "maximum": 1e300}


def optional(parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def wrapped(v: Any) -> Any:
        return None if v is None else parse(v)

    wrapped.__doc__ = parse.__doc__
    if hasattr(parse, "schema"):  # else the test of every Field's schema names it
        wrapped.schema = {"anyOf": [parse.schema, {"type": "null"}]}
    return wrapped


def connection_table(v: Any) -> tuple[tuple[int, ...], ...]:
    """One list per output map, of the input maps it reads (LeNet-5's C3 table)."""
    if not isinstance(v, (list, tuple)) or not v:
        raise ValueError("must be a list with one list of input-map indices per filter")
    table = []
    for k, row in enumerate(v):
        if not isinstance(row, (list, tuple)) or not row:
            raise ValueError(f"entry {k} must be a non-empty list of input-map indices")
        idx = tuple(nonneg_int(i) for i in row)
        if len(set(idx)) != len(idx):
            raise ValueError(f"entry {k} lists an input map twice: {list(idx)}")
        table.append(idx)
    return tuple(table)


connection_table.schema = {
    "type": "array", "minItems": 1,
    "items": {"type": "array", "minItems": 1, "uniqueItems": True, "items": nonneg_int.schema}}
