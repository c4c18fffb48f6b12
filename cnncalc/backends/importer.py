"""A PyTorch model → a cnncalc spec (YAML text): ``cnncalc import SOURCE``.

SOURCE is ``torchvision:NAME`` (built with ``weights=None``), ``path/to/file.py:Name`` or
``package.module:Name`` (a class or a factory; ``--arg key=value`` for its arguments).

How, and why this way:

1. **Trace with ``torch.fx.symbolic_trace``**, not forward hooks: hooks see modules, never the
   ``x + f(x)`` and ``torch.cat`` that make a ResNet or an Inception block, while the fx
   graph keeps every op with its inputs and every module call with its qualified name.
   ``torch.export`` is only the fallback: it silently keeps the one branch it took of
   shape-dependent control flow, so a spec from it holds for the traced input size only
   (said in a note).  torchvision models are built on the ``meta`` device: no weights are
   allocated or initialised, so even RegNet-Y 128GF imports in a moment.
2. **Shapes and MACs from PyTorch** (``ShapeProp`` on a meta tensor, under
   ``FlopCounterMode``): the view of a channel shuffle and the layout of a permute are read
   from real shapes, and the spec's ``expect:`` totals (params = ``sum(p.numel())``, MACs =
   the counter's FLOPs / 2, the output shape) come from the model, not from cnncalc, so
   ``cnncalc check`` on the spec compares cnncalc's formulas with PyTorch.
3. **Every node becomes a layer kind or a merge** (:func:`_Converter.node`): module calls by
   class, functional calls by name.  ``x + f(x)`` is a ``residual``, a fan-out joined by
   ``cat`` a ``branches`` (``concat``), ``x * σ(f(x))`` a ``branches`` with ``merge: mul``
   (squeeze-and-excitation), a side output (an auxiliary head, traced in training mode) a
   ``branches`` with ``merge: first``; DenseNet's ``cat`` of all earlier features is the
   nested ``concat`` it is equivalent to.
4. **The graph becomes a tree** by its dominators: a merge's paths start at its immediate
   dominator (the fork) — a series-parallel decomposition (:func:`_sequence`).
5. **Modules become blocks**: the tree is regrouped by the modules' qualified names (so every
   layer is named as in ``named_modules()``), groups with the same structure become one block
   whose differing numbers are its parameters (``$filters``, ``$filters * 4``), used with
   ``use:``; consecutive uses ``layer1.0``, ``layer1.1``, … become a ``repeat``.

Only this module's functions import torch (lazily): the core and ``inspect`` of a YAML spec
never do.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
import importlib.util
import inspect
import re
import sys
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import BackendError, torch_missing

DEFAULT_INPUT = "224x224x3"

# --- sources ---------------------------------------------------------------------------------

_PY_SOURCE = re.compile(r"^(?P<path>.+\.py):(?P<name>[A-Za-z_]\w*)$")
_PKG_SOURCE = re.compile(r"^(?P<module>[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)*):(?P<name>[A-Za-z_]\w*)$")


def is_model_source(source: str) -> bool:
    """``torchvision:NAME``, ``file.py:Name`` or ``package.module:Name`` (not ``zoo:NAME``)."""
    text = str(source)
    if text.startswith("zoo:") or "\n" in text:
        return False
    return text.startswith("torchvision:") or bool(_PY_SOURCE.match(text)) or bool(
        _PKG_SOURCE.match(text)) and not text.endswith((".yaml", ".yml"))


class ImportFailure(BackendError):
    """The model cannot be imported (exit 2): one line naming what and where."""


@dataclass(frozen=True)
class Imported:
    """An imported model: the spec's YAML text, and notes for the user (one line each)."""

    source: str
    text: str
    notes: tuple[str, ...] = ()


def load_model(source: str, *, input_volume: str | None = None,
               args: dict[str, Any] | None = None):
    """Import ``source`` in memory: ``(Spec, notes)``, for inspect, check, lint and verify."""
    from ..spec import parse

    imported = import_model(source, input_volume=input_volume, args=args)
    return parse(imported.text, source), imported.notes


def parse_args(pairs) -> dict[str, Any]:
    """``key=value`` pairs (``--arg``); values read as YAML scalars: 10, 0.5, false, name."""
    import yaml

    out = {}
    for pair in pairs:
        key, sep, value = str(pair).partition("=")
        if not sep or not key.strip().isidentifier():
            raise ImportFailure(f"--arg {pair!r}: write key=value, e.g. --arg num_classes=10")
        try:
            out[key.strip()] = yaml.safe_load(value) if value.strip() else ""
        except yaml.YAMLError:
            out[key.strip()] = value
    return out


def _torch():
    warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
    try:
        import torch
        import torch.fx  # noqa: F401
    except ImportError as e:
        raise torch_missing() from e
    return torch


@contextlib.contextmanager
def _meta_weights():
    """Parameters and buffers go to the meta device as they are registered: nothing is
    allocated or initialised (the constructors' own arithmetic still runs on the CPU, which
    a ``torch.device('meta')`` context would break: RegNet computes its widths with torch)."""
    from torch import nn

    register_parameter = nn.Module.register_parameter
    register_buffer = nn.Module.register_buffer

    def parameter(module, name, param):
        register_parameter(module, name, param)
        if param is not None:
            p = module._parameters[name]
            module._parameters[name] = nn.Parameter(p.to("meta"), requires_grad=p.requires_grad)

    def buffer(module, name, tensor, persistent=True):
        register_buffer(module, name, None if tensor is None else tensor.to("meta"), persistent)

    nn.Module.register_parameter, nn.Module.register_buffer = parameter, buffer
    try:
        yield
    finally:
        nn.Module.register_parameter = register_parameter
        nn.Module.register_buffer = register_buffer


def _closest(word: str, options) -> str:
    match = difflib.get_close_matches(word, list(options), n=1, cutoff=0.5)
    return f"; did you mean {match[0]}?" if match else ""


def _build(source: str, args: dict[str, Any]):
    """``(model, display title, default input volume, on meta?)``."""
    torch = _torch()
    if source.startswith("torchvision:"):
        name = source.split(":", 1)[1]
        try:
            from torchvision import models
        except ImportError:
            raise ImportFailure(f"{source}: torchvision is not installed; pip install "
                                f"torchvision==0.29.1 (with torch 2.14.1; see the README)"
                                ) from None
        known = models.list_models(module=models)
        if name not in known:
            hint = _closest(name, known) or "; torchvision.models.list_models() lists them"
            raise ImportFailure(f"{source}: torchvision has no classification model {name!r}"
                                f"{hint}")
        volume = DEFAULT_INPUT
        try:
            crop = models.get_model_weights(name).DEFAULT.transforms().crop_size
            volume = f"{crop[-1]}x{crop[0]}x3"
        except Exception:  # noqa: BLE001 - a model without weights: the common default
            pass
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with _meta_weights():
                model = _construct(source, lambda **kw: models.get_model(name, weights=None, **kw),
                                   args, models.get_model_builder(name))
        return model, name, volume, True
    match = _PY_SOURCE.match(source)
    if match:
        path = Path(match["path"])
        if not path.is_file():
            raise ImportFailure(f"{match['path']}: no such file")
        module = _load_file(path)
        target = _attribute(module, match["name"], match["path"])
    else:
        match = _PKG_SOURCE.match(source)
        try:
            module = importlib.import_module(match["module"])
        except ImportError as e:
            raise ImportFailure(f"{source}: cannot import {match['module']}: {e}") from None
        except Exception as e:  # noqa: BLE001 - the user's module fails while importing
            raise ImportFailure(f"{source}: importing {match['module']} failed: "
                                f"{_one_line(e)}{_where(e)}") from None
        target = _attribute(module, match["name"], match["module"])
    model = _construct(source, target, args, target)
    if not isinstance(model, torch.nn.Module):
        raise ImportFailure(f"{source}: gives a {type(model).__name__}, not an nn.Module")
    return model, getattr(type(model), "__name__", match["name"]), DEFAULT_INPUT, False


def _load_file(path: Path):
    name = f"cnncalc_import_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.resolve().parent))  # the file's own imports of its neighbours
    try:
        spec.loader.exec_module(module)
    except Exception as e:  # noqa: BLE001
        raise ImportFailure(f"{path}: running it failed: {_one_line(e)}{_where(e)}") from None
    finally:
        sys.path.remove(str(path.resolve().parent))
    return module


def _attribute(module, name: str, where: str):
    if not hasattr(module, name):
        public = [k for k in vars(module) if not k.startswith("_")]
        raise ImportFailure(f"{where}: has no {name!r}{_closest(name, public)}")
    return getattr(module, name)


def _construct(source: str, factory, args: dict[str, Any], signature_of):
    if not callable(factory):
        raise ImportFailure(f"{source}: is a {type(factory).__name__}, not a class or a function")
    try:
        sig = inspect.signature(signature_of)
        params = list(sig.parameters.values())
        if inspect.isclass(signature_of):
            params = params[1:] if params and params[0].name == "self" else params
        missing = [p.name for p in params
                   if p.default is inspect.Parameter.empty and p.name not in args
                   and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    except (TypeError, ValueError):
        missing = []
    if missing:
        raise ImportFailure(f"{source}: needs {', '.join(missing)}; give "
                            f"{' '.join(f'--arg {m}=…' for m in missing)}")
    try:
        return factory(**args)
    except TypeError as e:
        raise ImportFailure(f"{source}: cannot be built with {args or 'no arguments'}: "
                            f"{_one_line(e)}") from None
    except Exception as e:  # noqa: BLE001 - the model's constructor fails
        raise ImportFailure(f"{source}: building it failed: {_one_line(e)}{_where(e)}") from None


def _one_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0]}" if text else type(e).__name__


def _user_frame(tb) -> traceback.FrameSummary | None:
    """The innermost frame outside torch and cnncalc: the model's own source line."""
    here = str(Path(__file__).resolve().parent.parent)
    found = None
    for frame in traceback.extract_tb(tb):
        path = str(Path(frame.filename).resolve()) if frame.filename else ""
        if "/torch/" in path or path.startswith(here) or "<" in frame.filename:
            continue
        found = frame
    return found


def _where(e: BaseException) -> str:
    frame = _user_frame(e.__traceback__)
    return f" (at {frame.filename}:{frame.lineno}: {frame.line})" if frame else ""


def _parse_volume(text: str):
    from ..shapes import parse_volume

    try:
        shape = parse_volume(text)
    except ValueError as e:
        raise ImportFailure(f"--input {text}: {e}") from None
    if not shape.spatial:
        raise ImportFailure(f"--input {text}: give an image volume W×H×D, e.g. 224x224x3")
    return shape


def import_model(source: str, *, input_volume: str | None = None,
                 args: dict[str, Any] | None = None) -> Imported:
    """Import ``source`` and return the spec's YAML text; errors are :class:`ImportFailure`."""
    model, title, default_volume, meta = _build(source, dict(args or {}))
    model.eval()  # BN uses its running statistics: a batch of one works
    shape = _parse_volume(input_volume or default_volume)
    traced = _trace(model, shape, meta, source)
    ops, out, side = _Converter(traced, source).run()
    tree = _Tree(ops, out, side).build()
    notes = list(traced.notes)
    text = _Writer(traced, tree, source, title, shape, notes).text()
    return Imported(source, text, tuple(notes))


# --- tracing ---------------------------------------------------------------------------------

@dataclass
class _Node:
    """One op of the traced graph, the same for fx and for the torch.export fallback."""

    op: str  # placeholder, get_attr, call_module, call_function, call_method, output
    target: Any
    args: tuple
    kwargs: dict
    name: str
    shape: Any  # torch shape with batch, a tuple of them (chunk), or None (not a tensor)
    scope: str  # the innermost module's qualified name ('' for the model itself)
    where: str = ""  # the model's source line, when known


@dataclass
class _Traced:
    model: Any
    nodes: list
    modules: dict  # qualified name → module
    params: int
    macs: int
    output_shape: tuple
    notes: list
    input_shape: Any
    by: str  # "torch.fx" or "torch.export"


# Modules the trace keeps whole although torchvision defines them.
_LEAF_CLASSES = {"StochasticDepth"}


def _trace(model, shape, meta: bool, source: str) -> _Traced:
    torch = _torch()
    from torch.utils.flop_counter import FlopCounterMode

    notes: list[str] = []
    modules = dict(model.named_modules())
    gm, graph_nodes, error = _trace_fx(model, source, train=False)
    if gm is not None and _uncalled(model, graph_nodes):
        # Auxiliary heads (GoogLeNet, Inception v3) run only while training: trace that.
        train_gm, train_nodes, _ = _trace_fx(model, source, train=True)
        if train_gm is not None and not _uncalled(model, train_nodes):
            gm, graph_nodes = train_gm, train_nodes
    device = "meta" if meta else "cpu"
    x = torch.zeros(1, shape.c, shape.h, shape.w, device=device)
    by = "torch.fx"
    if gm is None:
        nodes, out_shape, macs = _trace_export(model, x, source, error)
        by = "torch.export"
        notes.append(f"torch.fx could not trace {source} ({error}); traced with torch.export "
                     f"at {shape.w}×{shape.h}×{shape.c}: the model's control flow was fixed for "
                     f"that input size")
    else:
        try:
            with FlopCounterMode(display=False) as counter, torch.no_grad():
                out = _ShapeRecorder(gm).run(x)
        except Exception as e:  # noqa: BLE001 - the model refuses this input size
            raise ImportFailure(f"{source}: PyTorch cannot run it on {shape.w}×{shape.h}×"
                                f"{shape.c}: {_one_line(e)}; give another --input") from None
        macs = counter.get_total_flops() // 2
        out_shape = _first_tensor(out)
        nodes = [_node_from_fx(n) for n in graph_nodes]
    params = sum(p.numel() for p in model.parameters())
    uncalled = _uncalled(model, nodes)
    for name, count in uncalled:
        notes.append(f"{name} ({count:,} params) is never called by forward(): the spec leaves "
                     f"it out, so its params are below the model's {params:,}")
    return _Traced(model, nodes, modules, params, macs, tuple(out_shape.shape[1:]),
                   notes, shape, by)


def _first_tensor(out):
    torch = _torch()
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, (tuple, list)):
        return _first_tensor(out[0])
    if isinstance(out, dict):
        return _first_tensor(next(iter(out.values())))
    raise ImportFailure(f"the model returns a {type(out).__name__}, not a tensor")


class _FxTracer:
    """torch.fx's tracer, keeping torchvision's StochasticDepth whole (its module name)."""

    def __new__(cls, record: bool = False):
        import torch.fx

        class Tracer(torch.fx.Tracer):
            def is_leaf_module(self, m, qualname):
                if type(m).__name__ in _LEAF_CLASSES:
                    return True
                return super().is_leaf_module(m, qualname)

        tracer = Tracer()
        tracer.record_stack_traces = record
        return tracer


def _trace_fx(model, source: str, train: bool):
    """The fx graph's nodes (with their GraphModule), or ``(None, why)``."""
    import torch.fx

    was = model.training
    model.train(train)
    try:
        tracer = _FxTracer()
        graph = tracer.trace(model)
        gm = torch.fx.GraphModule(model, graph)
        return gm, list(graph.nodes), None
    except Exception as e:  # noqa: BLE001 - any fx failure sends us to the fallback
        frame = _user_frame(e.__traceback__)
        where = f" at {frame.filename}:{frame.lineno}: {frame.line}" if frame else ""
        return None, None, f"{_one_line(e)}{where}"
    finally:
        model.train(was)


def _uncalled(model, nodes) -> list[tuple[str, int]]:
    """The outermost modules with parameters that no node calls or reads (auxiliary heads in
    eval mode, modules defined but not used), with their parameter counts."""
    if nodes is None:
        return []
    used = set()
    for n in nodes:
        if n.op == "call_module":
            used.add(str(n.target))
        elif n.op == "get_attr":
            used.add(str(n.target).rpartition(".")[0])
        scope = n.scope if isinstance(n, _Node) else _scope_of(n)
        if scope:
            used.add(scope)
    reached = set()  # every module that holds a used one
    for name in used:
        parts = name.split(".")
        reached.update(".".join(parts[:k]) for k in range(1, len(parts) + 1))
    out: list[tuple[str, int]] = []
    for name, module in model.named_modules():
        if not name or name in reached or any(name.startswith(o + ".") for o, _ in out):
            continue
        count = sum(p.numel() for p in module.parameters())
        if count:
            out.append((name, count))
    return out


def _scope_of(n) -> str:
    stack = n.meta.get("nn_module_stack") or {}
    if not stack:
        return ""
    value = list(stack.values())[-1]
    path = value[0] if isinstance(value, tuple) else str(value)
    return path


def _node_from_fx(n) -> _Node:
    meta = n.meta.get("tensor_meta")
    if meta is not None and hasattr(meta, "shape"):
        shape = tuple(meta.shape)
    elif isinstance(meta, (tuple, list)) and all(hasattr(m, "shape") for m in meta):
        shape = tuple(tuple(m.shape) for m in meta)
    else:
        shape = None
    scope = n.target if n.op == "call_module" else _scope_of(n)
    return _Node(n.op, n.target, n.args, dict(n.kwargs), n.name, shape, scope)


class _ShapeRecorder:
    """Run a GraphModule node by node, keeping each tensor's shape in ``node.meta``
    (torch.fx's ShapeProp, without its per-node metadata we do not need)."""

    def __new__(cls, gm):
        import torch
        import torch.fx

        class Recorder(torch.fx.Interpreter):
            def run_node(self, n):
                result = super().run_node(n)
                if isinstance(result, torch.Tensor):
                    n.meta["tensor_meta"] = _Shape(tuple(result.shape))
                elif isinstance(result, (tuple, list)) and result and all(
                        isinstance(r, torch.Tensor) for r in result):
                    n.meta["tensor_meta"] = tuple(_Shape(tuple(r.shape)) for r in result)
                return result

        return Recorder(gm)


@dataclass(frozen=True)
class _Shape:
    shape: tuple


def _trace_export(model, x, source: str, fx_error: str):
    """torch.export at the given size, its aten graph folded back into module calls."""
    torch = _torch()
    from torch.utils.flop_counter import FlopCounterMode

    model.eval()
    try:
        with warnings.catch_warnings(), _quiet():
            warnings.simplefilter("ignore")
            program = torch.export.export(model, (x,), strict=False)
    except Exception as e:  # noqa: BLE001
        frame = _user_frame(e.__traceback__)
        where = f" at {frame.filename}:{frame.lineno} ({frame.line})" if frame else ""
        if not where and " at " in fx_error:
            where = " at " + fx_error.split(" at ", 1)[1]
        raise ImportFailure(f"{source}: neither torch.fx nor torch.export can trace its "
                            f"forward{where}: {_one_line(e)}; make the control flow depend "
                            f"on settings, not on tensor values") from None
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        out = model(x)
    nodes = _ExportFolder(program, model).fold()
    return nodes, _first_tensor(out), counter.get_total_flops() // 2


@contextlib.contextmanager
def _quiet():
    """torch.export logs its guesses and graphs to stderr: the user gets our one line."""
    import io
    import logging

    logging.disable(logging.CRITICAL)
    try:
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        logging.disable(logging.NOTSET)


class _ExportFolder:
    """An exported program's aten nodes → the fx vocabulary: the nodes inside one call of a
    leaf module (Conv2d, BatchNorm2d, …) become one ``call_module``; the rest keep their aten
    op, which :class:`_Converter` reads like the torch function it comes from."""

    def __init__(self, program, model):
        self.program = program
        self.model = model
        self.signature = program.graph_signature

    def fold(self) -> list[_Node]:
        import torch

        params = dict(self.signature.inputs_to_parameters)
        params.update(self.signature.inputs_to_buffers)
        user_inputs = list(self.signature.user_inputs)
        modules = dict(self.model.named_modules())
        tracer = _FxTracer()
        out: list[_Node] = []
        mapping: dict[str, str] = {}  # aten node name → the folded node's name
        open_call = None  # (stack key, path, _Node) of the leaf module call being folded
        for n in self.program.graph.nodes:
            val = n.meta.get("val")
            shape = tuple(val.shape) if hasattr(val, "shape") else (
                tuple(tuple(v.shape) for v in val) if isinstance(val, (tuple, list)) and val
                and all(hasattr(v, "shape") for v in val) else None)
            if n.op == "placeholder":
                if n.name in params:
                    out.append(_Node("get_attr", params[n.name], (), {}, n.name, shape, ""))
                elif n.name in user_inputs:
                    out.append(_Node("placeholder", n.target, (), {}, n.name, shape, ""))
                mapping[n.name] = n.name
                continue
            if n.op == "output":
                args = _rename(n.args, mapping)
                out.append(_Node("output", "output", args, {}, n.name, None, ""))
                continue
            stack = n.meta.get("nn_module_stack") or {}
            leaf = None
            for key, value in stack.items():
                path = value[0] if isinstance(value, tuple) else str(value)
                path = _export_path(path)
                module = modules.get(path)
                if module is not None and path and tracer.is_leaf_module(module, path):
                    leaf = (key, path)
                    break
            if leaf is not None:
                if open_call is not None and open_call[0] == leaf[0]:
                    folded = open_call[2]
                    folded.shape = shape
                    mapping[n.name] = folded.name
                    continue
                inputs = [a for a in _flat_args(n.args) if isinstance(a, torch.fx.Node)
                          and not mapping.get(a.name, "").startswith("p_")]
                first = next((a for a in inputs if a.name in mapping and
                              _is_activation(out, mapping[a.name])), None)
                node = _Node("call_module", leaf[1], (_Ref(mapping[first.name]),) if first else (),
                             {}, n.name, shape, leaf[1])
                out.append(node)
                mapping[n.name] = n.name
                open_call = (leaf[0], leaf[1], node)
                continue
            open_call = None
            scope = ""
            if stack:
                value = list(stack.values())[-1]
                scope = _export_path(value[0] if isinstance(value, tuple) else str(value))
            out.append(_Node("call_function", n.target, _rename(n.args, mapping),
                             _rename(dict(n.kwargs), mapping), n.name, shape, scope))
            mapping[n.name] = n.name
        return out


def _export_path(path: str) -> str:
    """torch.export's module path (``L['self'].layer1[0]`` or ``layer1.0``) → ``layer1.0``."""
    path = re.sub(r"^L\['self'\]\.?", "", path)
    path = re.sub(r"\[(\d+)\]", r".\1", path)
    path = re.sub(r"\['([^']+)'\]", r".\1", path)
    return path.strip(".")


def _is_activation(out: list[_Node], name: str) -> bool:
    return any(n.name == name and n.op != "get_attr" for n in out)


def _flat_args(args):
    for a in args:
        if isinstance(a, (tuple, list)):
            yield from _flat_args(a)
        else:
            yield a


def _rename(value, mapping):
    import torch.fx

    if isinstance(value, torch.fx.Node):
        return _Ref(mapping.get(value.name, value.name))
    if isinstance(value, (tuple, list)):
        return type(value)(_rename(v, mapping) for v in value)
    if isinstance(value, dict):
        return {k: _rename(v, mapping) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class _Ref:
    """A reference to another node by name (fx nodes are referenced by themselves)."""

    name: str


# --- the converter: nodes → ops --------------------------------------------------------------

@dataclass(eq=False)
class _Op:
    """A layer (``kind`` with settings ``hp``) or a merge of its inputs, on the import's graph."""

    kind: str | None  # a layer kind; None for the input and for merges
    hp: dict
    name: str  # the layer's qualified name (set for layers)
    module: str  # the module it belongs to (its own name for a module call)
    inputs: list
    merge: str | None = None  # add, concat, mul, first
    index: int = 0  # creation order: a topological order
    functional: bool = False  # named after its scope and kind, not after a module


@dataclass
class _Val:
    """What a node gives: a tensor made by ``op`` (in ``layout``), a parameter, a constant,
    or the pieces of a chunk."""

    op: _Op | None = None
    layout: Any = "nchw"  # nchw, nhwc, ("grouped", g), ("swapped", g)
    param: str | None = None
    const: Any = None
    chunks: tuple | None = None  # (source value, parts)


class _Unsupported(Exception):
    """A node with no cnncalc kind: ``what`` it is, ``nearest`` kind."""

    def __init__(self, what: str, nearest: str = ""):
        super().__init__(what)
        self.what, self.nearest = what, nearest


# A module class with no kind → the nearest kind, for the error message.
_NEAREST = {
    "MultiheadAttention": "fc (attention is not a layer kind: a vision transformer is not a "
                          "CNN cnncalc can count)",
    "Conv1d": "conv", "Conv3d": "conv", "ConvTranspose1d": "deconv", "ConvTranspose3d": "deconv",
    "BatchNorm3d": "bn", "InstanceNorm2d": "bn", "GroupNorm": "layer_norm",
    "MaxPool1d": "pool", "MaxPool3d": "pool", "AvgPool1d": "pool", "AvgPool3d": "pool",
    "Embedding": "fc", "LSTM": "fc", "GRU": "fc", "RNN": "fc", "Bilinear": "fc",
    "PReLU": "leaky_relu", "ELU": "leaky_relu", "SELU": "leaky_relu", "Mish": "silu",
    "Softplus": "relu", "Hardtanh": "relu6", "LogSoftmax": "softmax",
    "PixelShuffle": "upsample", "Upsample": "upsample", "ZeroPad2d": "conv (its pad)",
}


def _pair(v):
    if isinstance(v, (tuple, list)):
        return tuple(int(x) for x in v) if len(v) == 2 else tuple(v)
    return (int(v), int(v))


def _short(pair):
    """``(3, 3)`` → ``3``; ``(1, 3)`` → ``[1, 3]``."""
    return pair[0] if pair[0] == pair[1] else list(pair)


class _Converter:
    def __init__(self, traced: _Traced, source: str):
        self.traced = traced
        self.source = source
        self.modules = traced.modules
        self.ops: list[_Op] = []
        self.vals: dict[str, _Val] = {}
        self.cats: dict[tuple, _Op] = {}
        self.calls: dict[str, int] = {}  # module → times called
        self.nodes = {n.name: n for n in traced.nodes}

    def run(self):
        # A module class with no kind is the clearest thing to say about a model (a vision
        # transformer's attention), before any op its forward does around it.
        for n in self.traced.nodes:
            if n.op == "call_module":
                m = self.traced.model.get_submodule(n.target)
                cls = type(m).__name__
                if not hasattr(self, f"m_{cls}") and cls != "Identity":
                    raise self.failure(n, _Unsupported(f"{n.target} is a {cls}, which",
                                                       _NEAREST.get(cls) or _nearest_kind(cls)))
        out = side = None
        for n in self.traced.nodes:
            try:
                if n.op == "output":
                    out, side = self.output(n)
                else:
                    self.vals[n.name] = self.node(n)
            except _Unsupported as e:
                raise self.failure(n, e) from None
        self.name_functional()
        for target, count in self.calls.items():
            params = sum(p.numel() for p in self.traced.model.get_submodule(target).parameters())
            if count > 1 and params:
                self.traced.notes.append(
                    f"{target} is called {count} times: PyTorch counts its {params:,} params "
                    f"once, the spec at each call ({target}@2, …), so its params total is "
                    f"{(count - 1) * params:,} above the model's and its params claim fails")
        return self.ops, out, side

    def failure(self, n: _Node, e: _Unsupported) -> ImportFailure:
        where = self.source_line(n)
        nearest = f"; the nearest kind is {e.nearest}" if e.nearest else ""
        module = f"{n.scope}: " if n.scope and n.op != "call_module" else ""
        return ImportFailure(f"{self.source}: {module}{e.what} has no cnncalc kind{nearest}"
                             f"{where}")

    def source_line(self, n: _Node) -> str:
        """Where the model does this, from a second trace that records stack traces."""
        if self.traced.by != "torch.fx":
            return ""
        try:
            tracer = _FxTracer(record=True)
            was = self.traced.model.training
            graph = tracer.trace(self.traced.model)
            self.traced.model.train(was)
        except Exception:  # noqa: BLE001
            return ""
        for g in graph.nodes:
            if g.name == n.name and g.stack_trace:
                lines = [ln.strip() for ln in g.stack_trace.strip().splitlines()]
                for i in range(len(lines) - 1, -1, -1):
                    m = re.match(r'File "([^"]+)", line (\d+)', lines[i])
                    if m and "/torch/" not in m.group(1):
                        code = lines[i + 1] if i + 1 < len(lines) else ""
                        return f" (at {m.group(1)}:{m.group(2)}: {code})"
        return ""

    # -- values
    def val(self, a) -> _Val:
        key = a.name if hasattr(a, "name") else None
        if key is None or key not in self.vals:
            return _Val(const=a)
        return self.vals[key]

    def shape(self, a) -> tuple | None:
        node = self.nodes.get(getattr(a, "name", None))
        return node.shape if node is not None else None

    def tensor(self, a) -> _Val:
        v = self.val(a)
        if v.op is None:
            raise _Unsupported("an operation on a value that is not an activation")
        return v

    def new(self, kind, hp, inputs, *, name="", module="", merge=None,
            functional=False) -> _Op:
        op = _Op(kind, hp, name, module, list(inputs), merge, len(self.ops), functional)
        self.ops.append(op)
        return op

    def leaf(self, n: _Node, kind: str, hp: dict, x: _Val, layout=None) -> _Val:
        if n.op == "call_module":
            count = self.calls.get(n.target, 0) + 1
            self.calls[n.target] = count
            name = n.target if count == 1 else f"{n.target}@{count}"
            op = self.new(kind, hp, [x.op], name=name, module=n.target)
        else:
            op = self.new(kind, hp, [x.op], module=n.scope, functional=True)
        return _Val(op, layout or x.layout)

    # -- one node
    def node(self, n: _Node) -> _Val:
        if n.op == "placeholder":
            if self.ops:
                raise _Unsupported("a second input")
            return _Val(self.new(None, {}, [], name="input"))
        if n.op == "get_attr":
            return _Val(param=str(n.target))
        if n.op == "call_module":
            return self.module(n, self.traced.model.get_submodule(n.target))
        return self.function(n)

    def module(self, n: _Node, m) -> _Val:
        cls = type(m).__name__
        x = self.tensor(n.args[0]) if n.args else None
        if x is None:
            raise _Unsupported(f"a {cls} call without an input")
        shape = self.shape(n.args[0])
        convert = getattr(self, f"m_{cls}", None)
        if convert is None:
            if cls in ("Identity",):
                return x
            raise _Unsupported(f"{n.target} is a {cls}, which",
                               _NEAREST.get(cls) or _nearest_kind(cls))
        return convert(n, m, x, shape)

    # nn modules → kinds
    def m_Conv2d(self, n, m, x, shape):
        if m.padding_mode != "zeros":
            raise _Unsupported(f"{n.target} is a Conv2d with padding_mode={m.padding_mode!r}, "
                               f"which", "conv (zero padding only)")
        self.expect_nchw(n, x, "Conv2d")
        hp = self.conv_hp(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding,
                          m.dilation, m.groups, m.bias is not None)
        return self.leaf(n, "conv", hp, x)

    @staticmethod
    def conv_hp(cin, cout, size, stride, padding, dilation, groups, bias) -> dict:
        hp: dict = {}
        if groups == cin and groups > 1:
            if cout != cin:
                hp["filters"] = cout
        else:
            hp["filters"] = cout
        hp["size"] = _short(_pair(size))
        if _pair(stride) != (1, 1):
            hp["stride"] = _short(_pair(stride))
        if isinstance(padding, str):
            if padding == "same":
                hp["pad"] = "same"
        elif _pair(padding) != (0, 0):
            hp["pad"] = _short(_pair(padding))
        if _pair(dilation) != (1, 1):
            hp["dilation"] = _short(_pair(dilation))
        if groups == cin and groups > 1:
            hp["depthwise"] = True
        elif groups != 1:
            hp["groups"] = groups
        if not bias:
            hp["bias"] = False
        return hp

    def m_ConvTranspose2d(self, n, m, x, shape):
        self.expect_nchw(n, x, "ConvTranspose2d")
        hp = {"filters": m.out_channels, "size": _short(_pair(m.kernel_size))}
        for key, value, default in (("stride", m.stride, (1, 1)), ("pad", m.padding, (0, 0)),
                                    ("output_pad", m.output_padding, (0, 0)),
                                    ("dilation", m.dilation, (1, 1))):
            if _pair(value) != default:
                hp[key] = _short(_pair(value))
        if m.groups != 1:
            hp["groups"] = m.groups
        if m.bias is None:
            hp["bias"] = False
        return self.leaf(n, "deconv", hp, x)

    def m_BatchNorm2d(self, n, m, x, shape):
        self.expect_nchw(n, x, "BatchNorm2d")
        return self.leaf(n, "bn", self.norm_hp(m.eps, m.affine, 1e-5), x)

    def m_BatchNorm1d(self, n, m, x, shape):
        if shape is None or len(shape) != 2:
            raise _Unsupported(f"{n.target} is a BatchNorm1d on a sequence, which", "bn")
        return self.leaf(n, "bn", self.norm_hp(m.eps, m.affine, 1e-5), x)

    @staticmethod
    def norm_hp(eps, affine, default_eps) -> dict:
        hp = {}
        if abs(eps - default_eps) > 1e-12:
            hp["eps"] = float(eps)
        if not affine:
            hp["affine"] = False
        return hp

    def m_LayerNorm(self, n, m, x, shape):
        c = self.channels_of(shape, x)
        if tuple(m.normalized_shape) != (c,):
            raise _Unsupported(f"{n.target} is a LayerNorm over {tuple(m.normalized_shape)} "
                               f"(not over the {c} channels), which", "layer_norm")
        return self.leaf(n, "layer_norm", self.norm_hp(m.eps, m.elementwise_affine, 1e-5), x)

    def m_LocalResponseNorm(self, n, m, x, shape):
        hp = {"size": m.size}
        for key, value, default in (("alpha", m.alpha, 1e-4), ("beta", m.beta, 0.75),
                                    ("k", m.k, 1.0)):
            if value != default:
                hp[key] = float(value)
        return self.leaf(n, "lrn", hp, x)

    def m_Linear(self, n, m, x, shape):
        if shape is not None and len(shape) == 2:
            hp = {"units": m.out_features}
            if m.bias is None:
                hp["bias"] = False
            return self.leaf(n, "fc", hp if len(hp) > 1 else m.out_features, x)
        if shape is not None and len(shape) == 4 and x.layout == "nhwc":
            # A Linear on channels-last positions is a 1×1 conv (ConvNeXt's pointwise layers):
            # the same weights and the same MACs.
            hp = {"filters": m.out_features, "size": 1}
            if m.bias is None:
                hp["bias"] = False
            return self.leaf(n, "conv", hp, x)
        raise _Unsupported(f"{n.target} is a Linear on a tensor of shape {shape}, which", "fc")

    def m_Flatten(self, n, m, x, shape):
        if m.start_dim != 1 or m.end_dim != -1:
            raise _Unsupported(f"{n.target} flattens dims {m.start_dim}..{m.end_dim}, which",
                               "flatten")
        return self.flatten(n, x, shape)

    def m_MaxPool2d(self, n, m, x, shape):
        return self.pool(n, x, "max", m.kernel_size, m.stride, m.padding, m.dilation,
                         m.ceil_mode)

    def m_AvgPool2d(self, n, m, x, shape):
        return self.pool(n, x, "avg", m.kernel_size, m.stride, m.padding, 1, m.ceil_mode)

    def m_AdaptiveAvgPool2d(self, n, m, x, shape):
        return self.adaptive(n, x, "avg", m.output_size)

    def m_AdaptiveMaxPool2d(self, n, m, x, shape):
        return self.adaptive(n, x, "max", m.output_size)

    def m_Dropout(self, n, m, x, shape):
        return self.leaf(n, "dropout", float(m.p), x)

    m_Dropout2d = m_Dropout

    def m_StochasticDepth(self, n, m, x, shape):
        hp = {"p": float(m.p)}
        if m.mode != "row":
            hp["mode"] = m.mode
        return self.leaf(n, "stochastic_depth", hp if len(hp) > 1 else float(m.p), x)

    def m_ChannelShuffle(self, n, m, x, shape):
        return self.leaf(n, "shuffle", int(m.groups), x)

    def m_Upsample(self, n, m, x, shape):
        scale = m.scale_factor
        if m.size is not None or scale is None or float(scale) != int(scale) or \
                m.mode not in ("nearest", "bilinear"):
            raise _Unsupported(f"{n.target} is an Upsample that is not an integer "
                               f"nearest/bilinear factor, which", "upsample")
        hp = {"scale": int(scale)}
        if m.mode != "nearest":
            hp["mode"] = m.mode
        return self.leaf(n, "upsample", hp, x)

    def m_Softmax(self, n, m, x, shape):
        if m.dim not in (1, -1 if shape and len(shape) == 2 else 1):
            raise _Unsupported(f"{n.target} is a softmax over dim {m.dim}, which", "softmax")
        return self.leaf(n, "softmax", None, x)

    def m_LeakyReLU(self, n, m, x, shape):
        return self.leaf(n, "leaky_relu", float(m.negative_slope), x)

    def elementwise(kind):  # noqa: N805 - a factory of methods
        def convert(self, n, m, x, shape):
            return self.leaf(n, kind, None, x)
        return convert

    m_ReLU = elementwise("relu")
    m_ReLU6 = elementwise("relu6")
    m_Sigmoid = elementwise("sigmoid")
    m_Tanh = elementwise("tanh")
    m_GELU = elementwise("gelu")
    m_SiLU = elementwise("silu")
    m_Hardswish = elementwise("hardswish")
    m_Hardsigmoid = elementwise("hardsigmoid")

    # shared by modules and functions
    def expect_nchw(self, n, x: _Val, what: str) -> None:
        if x.layout != "nchw":
            raise _Unsupported(f"a {what} on a tensor whose channels are not in dim 1 "
                               f"(after a permute), which", "conv")

    def channels_of(self, shape, x: _Val) -> int | None:
        if shape is None:
            return None
        if len(shape) == 2:
            return shape[1]
        if len(shape) == 4:
            return shape[3] if x.layout == "nhwc" else shape[1]
        return None

    def pool(self, n, x, mode, size, stride, padding, dilation, ceil) -> _Val:
        self.expect_nchw(n, x, "pool")
        if _pair(dilation) != (1, 1):
            raise _Unsupported("a dilated pool, which", "pool")
        size = _pair(size)
        stride = _pair(stride) if stride not in (None, (), []) else size
        hp: dict = {"size": _short(size)}
        if stride != size:
            hp["stride"] = _short(stride)
        if _pair(padding) != (0, 0):
            hp["pad"] = _short(_pair(padding))
        if mode != "max":
            hp["mode"] = mode
        if ceil:
            hp["ceil"] = True
        return self.leaf(n, "pool", hp if len(hp) > 1 else hp["size"], x)

    def adaptive(self, n, x, mode, size) -> _Val:
        self.expect_nchw(n, x, "adaptive pool")
        size = _pair(size) if not isinstance(size, (tuple, list)) else tuple(size)
        if any(s is None for s in size):
            raise _Unsupported("an adaptive pool that keeps one side, which", "adaptive_pool")
        if size == (1, 1):
            return self.leaf(n, "global_pool", None if mode == "avg" else mode, x)
        hp = {"size": _short(size)}
        if mode != "avg":
            hp["mode"] = mode
        return self.leaf(n, "adaptive_pool", hp if len(hp) > 1 else hp["size"], x)

    def flatten(self, n, x, shape) -> _Val:
        if shape is not None and len(shape) == 2:
            return x  # already a vector
        if x.layout != "nchw":
            raise _Unsupported("a flatten of channels-last positions, which", "flatten")
        return self.leaf(n, "flatten", None, x)

    # functions and methods → kinds
    def function(self, n: _Node) -> _Val:
        if isinstance(n.target, type) and issubclass(n.target, tuple):
            return _Val(const=None)  # a namedtuple of outputs: read by output()
        name = _function_name(n.target)
        convert = _FUNCTIONS.get(name)
        if convert is None:
            args = [self.val(a) for a in n.args]
            if not any(a.op is not None for a in args):
                return _Val(const=None)  # arithmetic on sizes and settings: not a layer
            raise _Unsupported(f"{_describe(n)}, which", _nearest_kind(name))
        return convert(self, n)

    def arg(self, n: _Node, index: int, key: str, default=None):
        if len(n.args) > index:
            return n.args[index]
        return n.kwargs.get(key, default)

    def f_elementwise(self, n, kind):
        x = self.tensor(n.args[0])
        return self.leaf(n, kind, None, x)

    def f_add(self, n):
        a, b = self.val(n.args[0]), self.val(self.arg(n, 1, "other"))
        if a.op is None and b.op is None and a.param is None and b.param is None:
            return _Val(const=None)  # arithmetic on sizes
        if a.op is None or b.op is None:
            if a.op is not None and (b.const is None or b.const == 0) and b.param is None:
                return a
            raise _Unsupported("an add of a constant or a parameter, which", "a residual "
                                                                             "adds two paths")
        return self.merge("add", [a, b])

    def f_mul(self, n):
        a, b = self.val(n.args[0]), self.val(self.arg(n, 1, "other"))
        if a.op is None and b.op is None and a.param is None and b.param is None:
            return _Val(const=None)  # arithmetic on sizes
        if a.param is not None or b.param is not None:
            param, x = (a, b) if a.param is not None else (b, a)
            if x.op is None:
                raise _Unsupported("a product of parameters, which", "layer_scale")
            return self.layer_scale(n, param.param, x)
        if a.op is None or b.op is None:
            x = a if a.op is not None else b
            k = b.const if a.op is not None else a.const
            if k == 1:
                return x
            raise _Unsupported(f"a product with the constant {k!r}, which", "layer_scale")
        return self.merge("mul", [a, b])

    def layer_scale(self, n, param: str, x: _Val) -> _Val:
        owner, _, attr = param.rpartition(".")
        p = self.traced.model.get_parameter(param)
        if p.dim() not in (1, 3) or any(s != 1 for s in p.shape[1:]):
            raise _Unsupported(f"a product with the parameter {param} of shape "
                               f"{tuple(p.shape)}, which", "layer_scale (one per channel)")
        op = self.new("layer_scale", None, [x.op], name=param, module=owner)
        return _Val(op, x.layout)

    def f_cat(self, n):
        tensors = self.arg(n, 0, "tensors")
        dim = self.arg(n, 1, "dim", 0)
        vals = [self.tensor(t) for t in tensors]
        shape = self.shape(tensors[0])
        if shape is not None and dim % len(shape) != 1 or any(v.layout != "nchw" for v in vals):
            raise _Unsupported(f"a cat along dim {dim} (not the channels), which", "branches")
        return self.merge("concat", vals)

    def merge(self, mode: str, vals: list[_Val]) -> _Val:
        ops = [v.op for v in vals]
        if mode == "concat":
            key = tuple(id(o) for o in ops)
            if len(ops) == 1:
                return vals[0]
            if key in self.cats:
                return _Val(self.cats[key])
            # DenseNet concatenates every earlier output again: cat(x, f1, f2) is
            # cat(cat(x, f1), f2), a chain of two-way branches as the zoo writes it.
            for cut in range(len(ops) - 1, 1, -1):
                if tuple(id(o) for o in ops[:cut]) in self.cats:
                    ops = [self.cats[tuple(id(o) for o in ops[:cut])]] + ops[cut:]
                    break
            op = self.new(None, {}, ops, merge="concat")
            self.cats[key] = op
            return _Val(op)
        return _Val(self.new(None, {}, ops, merge=mode), vals[0].layout)

    def f_flatten(self, n):
        x = self.tensor(n.args[0])
        start = self.arg(n, 1, "start_dim", 0)
        end = self.arg(n, 2, "end_dim", -1)
        if start != 1 or end != -1:
            raise _Unsupported(f"a flatten of dims {start}..{end} (not 1..-1), which",
                               "flatten")
        return self.flatten(n, x, self.shape(n.args[0]))

    def f_view(self, n):
        x = self.tensor(n.args[0])
        before, after = self.shape(n.args[0]), n.shape
        if before == after:
            return x
        if after is not None and len(after) == 2 and before is not None and len(before) > 2:
            return self.flatten(n, x, before)
        # ShuffleNet's channel shuffle: view N×C×H×W as N×g×(C/g)×H×W, transpose 1 and 2,
        # view back.
        if before is not None and after is not None and len(before) == 4 and len(after) == 5 \
                and x.layout == "nchw" and after[1] * after[2] == before[1] \
                and after[3:] == before[2:]:
            return _Val(x.op, ("grouped", after[1]))
        if len(after or ()) == 4 and isinstance(x.layout, tuple) and x.layout[0] == "swapped":
            return self.leaf(n, "shuffle", x.layout[1], x, layout="nchw")
        raise _Unsupported(f"a view from {before} to {after}, which", "flatten or shuffle")

    def f_transpose(self, n):
        x = self.tensor(n.args[0])
        dims = sorted(d % 5 for d in (self.arg(n, 1, "dim0"), self.arg(n, 2, "dim1")))
        if isinstance(x.layout, tuple) and x.layout[0] == "grouped" and dims == [1, 2]:
            return _Val(x.op, ("swapped", x.layout[1]))
        raise _Unsupported("a transpose outside a channel shuffle, which", "shuffle")

    def f_contiguous(self, n):
        return self.tensor(n.args[0])

    def f_permute(self, n):
        x = self.tensor(n.args[0])
        dims = n.args[1:] if len(n.args) > 2 else self.arg(n, 1, "dims")
        dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
        if x.layout == "nchw" and dims == (0, 2, 3, 1):
            return _Val(x.op, "nhwc")
        if x.layout == "nhwc" and dims == (0, 3, 1, 2):
            return _Val(x.op, "nchw")
        raise _Unsupported(f"a permute {dims}, which", "conv (channels in dim 1)")

    def f_layer_norm(self, n):
        x = self.tensor(n.args[0])
        shape = self.shape(n.args[0])
        normalized = tuple(self.arg(n, 1, "normalized_shape"))
        c = self.channels_of(shape, x)
        if normalized != (c,):
            raise _Unsupported(f"a layer norm over {normalized} (not the {c} channels), which",
                               "layer_norm")
        weight = self.arg(n, 2, "weight")
        eps = self.arg(n, 4, "eps", 1e-5)
        return self.leaf(n, "layer_norm", self.norm_hp(eps, weight is not None, 1e-5), x)

    def f_pool(self, n, mode):
        x = self.tensor(n.args[0])
        size = self.arg(n, 1, "kernel_size")
        stride = self.arg(n, 2, "stride", None)
        padding = self.arg(n, 3, "padding", 0)
        if mode == "max":
            dilation = self.arg(n, 4, "dilation", 1)
            ceil = self.arg(n, 5, "ceil_mode", False)
        else:
            dilation, ceil = 1, self.arg(n, 4, "ceil_mode", False)
        return self.pool(n, x, mode, size, stride, padding, dilation, ceil)

    def f_adaptive(self, n, mode):
        return self.adaptive(n, self.tensor(n.args[0]), mode, self.arg(n, 1, "output_size"))

    def f_mean(self, n):
        x = self.tensor(n.args[0])
        shape = self.shape(n.args[0])
        dims = self.arg(n, 1, "dim")
        keep = self.arg(n, 2, "keepdim", False)
        dims = tuple(d % 4 for d in (dims if isinstance(dims, (tuple, list)) else (dims,)))
        if shape is None or len(shape) != 4 or x.layout != "nchw" or sorted(dims) != [2, 3]:
            raise _Unsupported(f"a mean over dims {dims}, which", "global_pool")
        y = self.leaf(n, "global_pool", None, x)
        return y if keep else self.leaf(n, "flatten", None, y)

    def f_chunk(self, n):
        x = self.tensor(n.args[0])
        parts = self.arg(n, 1, "chunks")
        dim = self.arg(n, 2, "dim", 0)
        return self.chunks(n, x, parts, dim)

    def f_split(self, n):
        x = self.tensor(n.args[0])
        size = self.arg(n, 1, "split_size_or_sections", self.arg(n, 1, "split_size"))
        dim = self.arg(n, 2, "dim", 0)
        shape = self.shape(n.args[0])
        c = shape[dim] if shape else None
        sizes = list(size) if isinstance(size, (tuple, list)) else None
        if sizes is not None and len(set(sizes)) == 1:
            size = sizes[0]
        if sizes is not None and len(set(sizes)) > 1 or c is None or c % size:
            raise _Unsupported("a split into unequal parts, which", "split (equal parts)")
        return self.chunks(n, x, c // size, dim)

    def chunks(self, n, x, parts, dim) -> _Val:
        shape = self.shape(n.args[0])
        if x.layout != "nchw" or shape is None or dim % len(shape) != 1:
            raise _Unsupported(f"a chunk along dim {dim} (not the channels), which", "split")
        return _Val(chunks=(x, int(parts)), const=n.name)

    def f_getitem(self, n):
        source = self.val(n.args[0])
        if source.chunks is not None:
            x, parts = source.chunks
            index = n.args[1]
            hp = {"parts": parts, "index": index}
            return self.leaf(n, "split", hp, x)
        if source.op is not None:
            raise _Unsupported("indexing into an activation, which", "split")
        return _Val(const=None)

    def f_dropout(self, n):
        x = self.tensor(n.args[0])
        return self.leaf(n, "dropout", float(self.arg(n, 1, "p", 0.5)), x)

    def f_stochastic_depth(self, n):
        x = self.tensor(n.args[0])
        p, mode = float(self.arg(n, 1, "p")), self.arg(n, 2, "mode")
        hp = {"p": p} if mode == "row" else {"p": p, "mode": mode}
        return self.leaf(n, "stochastic_depth", hp if len(hp) > 1 else p, x)

    def f_softmax(self, n):
        x = self.tensor(n.args[0])
        return self.leaf(n, "softmax", None, x)

    def f_identity(self, n):
        return self.tensor(n.args[0])

    def f_ignore(self, n):
        return _Val(const=None)

    # -- outputs
    def output(self, n: _Node):
        value = n.args[0]
        items = self.output_items(value)
        vals = [self.val(v) for v in items]
        tensors = [v for v in vals if v.op is not None]
        if not tensors:
            raise _Unsupported("a model that returns no activation")
        return tensors[0].op, [v.op for v in tensors[1:]]

    def output_items(self, value) -> list:
        if isinstance(value, (tuple, list)):
            return [x for v in value for x in self.output_items(v)]
        if isinstance(value, dict):
            return [x for v in value.values() for x in self.output_items(v)]
        node = self.nodes.get(getattr(value, "name", None))
        if node is not None and node.op == "call_function" and isinstance(node.target, type):
            # a namedtuple of outputs (GoogLeNetOutputs, InceptionOutputs)
            return [x for v in node.args for x in self.output_items(v)] + \
                [x for v in node.kwargs.values() for x in self.output_items(v)]
        return [value]

    # -- names of functional layers
    def name_functional(self) -> None:
        """A layer made by a function is named after the module that calls it: the module's
        own name when it holds nothing else (torchvision's LayerNorm2d), else
        ``SCOPE.KIND`` (``conv1.relu``), ``SCOPE.KIND@2`` for a second one."""
        taken = set(self.modules) | {op.name for op in self.ops if op.name}
        per_scope: dict[str, list[_Op]] = {}
        for op in self.ops:
            if op.functional:
                per_scope.setdefault(op.module, []).append(op)
        for scope, ops in per_scope.items():
            module = self.modules.get(scope)
            alone = (len(ops) == 1 and scope and module is not None and
                     not any(True for _ in module.children()) and
                     not any(o.name == scope for o in self.ops))
            for op in ops:
                if alone:
                    op.name = scope
                    continue
                base = f"{scope}.{op.kind}" if scope else op.kind
                name, k = base, 1
                while name in taken:
                    k += 1
                    name = f"{base}@{k}"
                op.name = name
                taken.add(name)


def _function_name(target) -> str:
    if isinstance(target, str):
        return target
    name = getattr(target, "__name__", None) or str(target)
    overload = getattr(target, "_overloadpacket", None)
    if overload is not None:  # an aten op from torch.export: aten.add.Tensor → add
        name = getattr(overload, "__name__", name)
    return name.rstrip("_") if name not in ("__getitem__",) else "getitem"


def _describe(n: _Node) -> str:
    name = _function_name(n.target)
    return f"the call {name}()" if n.op == "call_method" else f"the function {name}()"


def _nearest_kind(word: str) -> str:
    from ..layers import REGISTRY

    match = difflib.get_close_matches(word.lower(), list(REGISTRY), n=1, cutoff=0.4)
    return match[0] if match else ""


_FUNCTIONS = {
    "relu": lambda c, n: c.f_elementwise(n, "relu"),
    "relu6": lambda c, n: c.f_elementwise(n, "relu6"),
    "sigmoid": lambda c, n: c.f_elementwise(n, "sigmoid"),
    "tanh": lambda c, n: c.f_elementwise(n, "tanh"),
    "gelu": lambda c, n: c.f_elementwise(n, "gelu"),
    "silu": lambda c, n: c.f_elementwise(n, "silu"),
    "hardswish": lambda c, n: c.f_elementwise(n, "hardswish"),
    "hardsigmoid": lambda c, n: c.f_elementwise(n, "hardsigmoid"),
    "add": _Converter.f_add, "iadd": _Converter.f_add, "__add__": _Converter.f_add,
    "__iadd__": _Converter.f_add, "__radd__": _Converter.f_add,
    "mul": _Converter.f_mul, "imul": _Converter.f_mul, "__mul__": _Converter.f_mul,
    "__rmul__": _Converter.f_mul,
    "cat": _Converter.f_cat, "concat": _Converter.f_cat, "concatenate": _Converter.f_cat,
    "flatten": _Converter.f_flatten,
    "view": _Converter.f_view, "reshape": _Converter.f_view, "_unsafe_view": _Converter.f_view,
    "transpose": _Converter.f_transpose,
    "contiguous": _Converter.f_contiguous, "clone": _Converter.f_contiguous,
    "permute": _Converter.f_permute,
    "layer_norm": _Converter.f_layer_norm,
    "max_pool2d": lambda c, n: c.f_pool(n, "max"),
    "max_pool2d_with_indices": lambda c, n: c.f_pool(n, "max"),
    "avg_pool2d": lambda c, n: c.f_pool(n, "avg"),
    "adaptive_avg_pool2d": lambda c, n: c.f_adaptive(n, "avg"),
    "adaptive_max_pool2d": lambda c, n: c.f_adaptive(n, "max"),
    "mean": _Converter.f_mean,
    "chunk": _Converter.f_chunk, "split": _Converter.f_split,
    "getitem": _Converter.f_getitem,
    "dropout": _Converter.f_dropout,
    "stochastic_depth": _Converter.f_stochastic_depth,
    "softmax": _Converter.f_softmax,
    "size": _Converter.f_ignore, "dim": _Converter.f_ignore, "floordiv": _Converter.f_ignore,
    "_assert": _Converter.f_ignore, "getattr": _Converter.f_ignore,
    "detach": _Converter.f_identity, "alias": _Converter.f_identity,
}


# --- the tree: ops → nested sequence / residual / branches ---------------------------------

@dataclass(eq=False)
class _TLeaf:
    op: _Op


@dataclass(eq=False)
class _TMerge:
    merge: str  # add (a residual), concat, mul, first
    paths: list  # lists of tree nodes; [] is the identity


@dataclass(eq=False)
class _TGroup:
    path: str  # the module's qualified name
    items: list


@dataclass(eq=False)
class _TUse:
    block: str
    path: str
    values: list  # every number inside it, in order (see _Writer.skeleton)


@dataclass(eq=False)
class _TRepeat:
    path: str  # the container: iterations are PATH.start, PATH.start + 1, …
    times: int
    start: int
    use: _TUse


class _Tree:
    def __init__(self, ops: list[_Op], out: _Op, side: list[_Op]):
        self.ops = [op for op in ops]
        self.out = out
        self.side = side

    def build(self) -> list:
        source = self.ops[0]
        out = self.attach_side_outputs(source)
        self.idom = _dominators(self.ops, source)
        return _sequence(source, out, self.idom)

    def attach_side_outputs(self, source: _Op) -> _Op:
        """Each side output hangs off the op that dominates it: ``first(a, side)`` takes that
        op's place on the main path."""
        out = self.out
        for s in self.side:
            idom = _dominators(self.ops, source)
            on_main = _ancestors(out)
            a = s
            while a not in on_main:
                a = idom[a]
            merge = _Op(None, {}, "", "", [a, s], "first", 0)
            for op in self.ops:
                if op is not merge and op in on_main:
                    op.inputs = [merge if i is a else i for i in op.inputs]
            self.ops.append(merge)
            if out is a:
                out = merge
            self.ops = _topological(self.ops, source)
        return out


def _ancestors(op: _Op) -> set:
    seen, stack = set(), [op]
    while stack:
        o = stack.pop()
        if o in seen:
            continue
        seen.add(o)
        stack.extend(o.inputs)
    return seen


def _topological(ops: list[_Op], source: _Op) -> list[_Op]:
    order, seen = [], set()

    def visit(o):
        stack = [(o, False)]
        while stack:
            node, done = stack.pop()
            if done:
                order.append(node)
                continue
            if node in seen:
                continue
            seen.add(node)
            stack.append((node, True))
            stack.extend((i, False) for i in reversed(node.inputs))

    for op in ops:
        visit(op)
    for i, op in enumerate(order):
        op.index = i
    return order


def _dominators(ops: list[_Op], source: _Op) -> dict:
    """Immediate dominators on the DAG from ``source`` (ops in topological order)."""
    for i, op in enumerate(ops):
        op.index = i
    idom = {source: source}
    for op in ops:
        if op is source or not op.inputs:
            continue
        preds = [p for p in op.inputs if p in idom]
        if not preds:
            continue
        d = preds[0]
        for p in preds[1:]:
            d = _intersect(d, p, idom)
        idom[op] = d
    return idom


def _intersect(a, b, idom):
    while a is not b:
        while a.index > b.index:
            a = idom[a]
        while b.index > a.index:
            b = idom[b]
    return a


def _sequence(start: _Op, end: _Op, idom: dict) -> list:
    """The nodes from just after ``start`` up to ``end``, as a tree."""
    items = []
    op = end
    while op is not start:
        if op.merge is None:
            if op.kind is None:
                raise ImportFailure("the model's graph has a second input")
            items.append(_TLeaf(op))
            op = op.inputs[0]
            continue
        fork = idom[op]
        paths = [_sequence(fork, i, idom) for i in op.inputs]
        if op.merge == "mul":  # x · gate(x): the identity first, as one writes it
            paths.sort(key=lambda p: len(p) > 0)
        if op.merge == "add" and len(paths) == 2 and \
                len(_leaves(paths[1])) > len(_leaves(paths[0])):
            paths.reverse()  # a residual: the longer path is main, the other the shortcut
        items.append(_TMerge(op.merge, paths))
        op = fork
    items.reverse()
    return items


# --- writing the spec ----------------------------------------------------------------------

def _leaves(items) -> list[_Op]:
    out = []
    for it in items:
        if isinstance(it, _TLeaf):
            out.append(it.op)
        elif isinstance(it, _TMerge):
            for p in it.paths:
                out.extend(_leaves(p))
        elif isinstance(it, _TGroup):
            out.extend(_leaves(it.items))
    return out


def _ratio(column, vec, pname: str) -> str | None:
    """``$p * k`` or ``$p / k`` when ``column`` is ``vec`` times or over one integer k."""
    if not all(type(a) is int and type(b) is int and a > 0 and b > 0
               for a, b in zip(column, vec)):
        return None
    for big, small, op in ((column, vec, "*"), (vec, column, "/")):
        if all(a % b == 0 for a, b in zip(big, small)):
            ratios = {a // b for a, b in zip(big, small)}
            if len(ratios) == 1 and next(iter(ratios)) > 1:
                return f"${pname} {op} {next(iter(ratios))}"
    return None


def _is_container(module) -> bool:
    return type(module).__name__ in ("Sequential", "ModuleList", "ModuleDict")


def _snake(name: str) -> str:
    name = name.strip("_")
    name = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name)
    name = re.sub(r"(?<=[A-Z])([A-Z][a-z])", r"_\1", name)
    return re.sub(r"\W+", "_", name).lower() or "block"


class _Writer:
    """The tree regrouped by module, blocks found, and printed as YAML."""

    def __init__(self, traced: _Traced, tree: list, source: str, title: str, shape,
                 notes: list[str]):
        self.traced = traced
        self.modules = traced.modules
        self.tree = tree
        self.source = source
        self.title = title
        self.shape = shape
        self.notes = notes
        self.blocks: dict[str, dict] = {}  # name → items, instances, params, …
        self.skeletons: dict[Any, str] = {}
        self.repeating: set[str] = set()  # blocks with a run of 2 or more somewhere
        self.found_repeating: set[str] = set()

    # -- regrouping by module
    def owner(self, item) -> str:
        if isinstance(item, _TLeaf):
            return item.op.module
        names = [op.module for op in _leaves([item])]
        if not names:
            return ""
        common = names[0].split(".")
        for other in names[1:]:
            parts = other.split(".")
            k = 0
            while k < min(len(common), len(parts)) and common[k] == parts[k]:
                k += 1
            common = common[:k]
        return ".".join(common)

    def child(self, prefix: str, path: str) -> str | None:
        """The shallowest module below ``prefix`` that holds ``path``."""
        if path == prefix or not path:
            return None
        if prefix and not path.startswith(prefix + "."):
            return None
        rest = path[len(prefix) + 1:] if prefix else path
        parts = rest.split(".")
        for k in range(1, len(parts) + 1):
            candidate = ".".join(([prefix] if prefix else []) + parts[:k])
            if candidate in self.modules:
                return candidate
        return None

    def regroup(self, items: list, prefix: str) -> list:
        out: list = []
        run: list = []
        run_key = None
        used: set = set()

        def flush():
            nonlocal run, run_key
            if not run:
                return
            module = self.modules.get(run_key)
            # a module without children (a leaf, or one a function stands for) is no group
            bare = module is not None and not any(True for _ in module.children())
            if run_key is None or bare or run_key in used:
                out.extend(self.regroup_inside(it, prefix) for it in run)
            else:
                used.add(run_key)
                out.append(_TGroup(run_key, self.regroup(run, run_key)))
            run, run_key = [], None

        for item in items:
            key = self.child(prefix, self.owner(item))
            if key != run_key or key is None:
                flush()
            run.append(item)
            run_key = key
        flush()
        return out

    def regroup_inside(self, item, prefix: str):
        if isinstance(item, _TMerge):
            return _TMerge(item.merge, [self.regroup(p, prefix) for p in item.paths])
        return item

    # -- blocks
    def blockify(self, items: list, prefix: str) -> list:
        """Bottom-up: groups become uses of blocks (or are inlined), runs become repeats."""
        out = []
        for item in items:
            if isinstance(item, _TGroup):
                inner = self.blockify(item.items, item.path)
                module = self.modules.get(item.path)
                if module is None or _is_container(module):
                    out.extend(inner)  # a plain container: its layers, named with dots
                else:
                    out.append(self.use(item.path, inner, type(module).__name__))
            elif isinstance(item, _TMerge):
                out.append(_TMerge(item.merge, [self.blockify(p, prefix) for p in item.paths]))
            else:
                out.append(item)
        return self.repeats(out, prefix)

    def use(self, path: str, items: list, cls: str) -> _TUse:
        """A use of the block with these items' structure (made on first sight)."""
        values: list = []
        slots: list = []
        skeleton = self.skeleton(items, path, values, slots)
        key = (cls, skeleton)
        name = self.skeletons.get(key)
        if name is None:
            base = _snake(cls)
            name, k = base, 1
            while name in self.blocks:
                k += 1
                name = f"{base}_{k}"
            self.skeletons[key] = name
            self.blocks[name] = {"items": items, "path": path, "class": cls, "instances": [],
                                 "slots": slots}
        self.blocks[name]["instances"].append(values)
        return _TUse(name, path, values)

    def skeleton(self, items: list, prefix: str, values: list, slots: list):
        """The items' structure with their numbers taken out, in order, into ``values``
        (``slots`` says where each comes from: a setting, or a column of a used block);
        names relative to ``prefix``."""
        def rel(name: str) -> str:
            return name[len(prefix) + 1:] if prefix and name.startswith(prefix + ".") else name

        def hp_skel(hp, key):
            if isinstance(hp, dict):
                return tuple((k, hp_skel(v, k)) for k, v in hp.items())
            if isinstance(hp, (bool, str)) or hp is None:
                return hp
            if isinstance(hp, (int, float)):
                values.append(hp)
                slots.append(("setting", key))
                return "#"
            if isinstance(hp, list):
                return ("list", tuple(hp))
            return repr(hp)

        def use_skel(use: _TUse):
            values.extend(use.values)
            slots.extend(("use", use.block, k) for k in range(len(use.values)))

        out = []
        for it in items:
            if isinstance(it, _TLeaf):
                from ..layers import REGISTRY

                key = REGISTRY[it.op.kind].primary or it.op.kind
                out.append(("leaf", it.op.kind, rel(it.op.name), hp_skel(it.op.hp, key)))
            elif isinstance(it, _TMerge):
                out.append(("merge", it.merge, tuple(self.skeleton(p, prefix, values, slots)
                                                     for p in it.paths)))
            elif isinstance(it, _TUse):
                use_skel(it)
                out.append(("use", it.block, rel(it.path), len(it.values)))
            elif isinstance(it, _TRepeat):
                use_skel(it.use)
                out.append(("repeat", rel(it.path), it.times, it.start, it.use.block,
                            rel(it.use.path), len(it.use.values)))
        return tuple(out)

    def repeats(self, items: list, prefix: str) -> list:
        """Consecutive uses ``C.k``, ``C.k+1``, … of one block with the same numbers →
        ``repeat`` named C from k (a stage's tail, after its different block 0)."""
        out: list = []
        taken = {it.path for it in items if isinstance(it, _TRepeat)}  # made a level below
        i = 0
        while i < len(items):
            it = items[i]
            m = re.match(r"^(.*)\.(\d+)$", it.path) if isinstance(it, _TUse) else None
            if m is None:
                out.append(it)
                i += 1
                continue
            container, start = m.group(1), int(m.group(2))
            j = i + 1
            while j < len(items) and isinstance(items[j], _TUse) and \
                    items[j].block == it.block and items[j].values == it.values and \
                    items[j].path == f"{container}.{start + j - i}":
                j += 1
            times = j - i
            previous = out[-1] if out else None
            following = items[j] if j < len(items) else None
            ends = not (isinstance(following, _TUse)
                        and following.path.startswith(container + "."))
            # a stage's tail: block 0 differs, the rest (to the stage's end) repeat a block
            # that repeats elsewhere too (ResNet-18's layer2.1 as its layer1.0 and layer1.1)
            tail = (start > 0 and ends and isinstance(previous, _TUse)
                    and previous.path == f"{container}.{start - 1}"
                    and it.block in self.repeating)
            if container not in taken and container != prefix and (times >= 2 or tail):
                if times >= 2:
                    self.found_repeating.add(it.block)
                taken.add(container)
                out.append(_TRepeat(container, times, start, it))
            else:
                out.extend(items[i:j])
            i = j
        return out

    def finish_blocks(self) -> None:
        """Each block's numbers that differ between its uses become its parameters; the same
        column twice is one parameter, an integer multiple of one is ``$p * k``.  Blocks are
        made innermost first, so a used block's parameters are known when its user's are."""
        for block in self.blocks.values():
            kept = [k for k, slot in enumerate(block["slots"])
                    if slot[0] == "setting" or slot[2] in self.blocks[slot[1]]["columns"]]
            block["kept"] = kept
            rows = [[values[k] for k in kept] for values in block["instances"]]
            columns = list(zip(*rows)) if rows and rows[0] else []
            exprs: dict[int, str] = {}
            defaults: dict[str, Any] = {}
            owners: dict[str, int] = {}
            vectors: dict[tuple, str] = {}
            for k, column in enumerate(columns):
                if len(set(map(repr, column))) == 1:
                    continue
                if column in vectors:
                    exprs[k] = f"${vectors[column]}"
                    continue
                expr = None
                for vec, pname in vectors.items():
                    expr = _ratio(column, vec, pname)
                    if expr is not None:
                        break
                if expr is not None:
                    exprs[k] = expr
                    continue
                pname = self.slot_name(block["slots"][kept[k]])
                base, j = pname, 1
                while pname in defaults:
                    j += 1
                    pname = f"{base}{j}"
                defaults[pname] = column[0]
                owners[pname] = kept[k]
                vectors[column] = pname
                exprs[k] = f"${pname}"
            block["params"] = defaults
            block["exprs"] = exprs
            block["columns"] = set(owners.values())
            block["owners"] = owners  # parameter → its column among all the block's numbers

    def slot_name(self, slot) -> str:
        if slot[0] == "setting":
            return str(slot[1])
        inner = self.blocks[slot[1]]
        return next(p for p, col in inner["owners"].items() if col == slot[2])

    # -- text
    def text(self) -> str:
        grouped = self.regroup(self.tree, "")
        # twice: the first pass finds the blocks that repeat, which the second lets end a stage
        self.blockify(grouped, "")
        self.repeating = set(self.found_repeating)
        self.blocks, self.skeletons = {}, {}
        layers = self.blockify(grouped, "")
        self.finish_blocks()
        lines = self.header()
        if self.blocks:
            lines.append("blocks:")
            for name, block in self.blocks.items():
                lines += self.block_lines(name, block)
        lines.append("layers:")
        lines += self.items_lines(layers, "", "  ", None, _Level())
        lines.append(f"expect: {{params: {self.traced.params}, macs: {self.traced.macs}, "
                     f"output: {self.volume(self.traced.output_shape)}}}")
        return "\n".join(lines) + "\n"

    def header(self) -> list[str]:
        import torch

        version = f"torch {torch.__version__}"
        try:
            import torchvision

            version += f", torchvision {torchvision.__version__}"
        except ImportError:
            pass
        s = self.shape
        lines = [f"# Imported by `cnncalc import {self.source}` ({version}, traced with "
                 f"{self.traced.by}).",
                 "# Layer names are the model's qualified module names; the expect: totals "
                 "are PyTorch's",
                 "# own: sum(p.numel() for p in model.parameters()), FlopCounterMode's FLOPs / "
                 "2, the output shape."]
        lines += [f"# note: {n}" for n in self.notes]
        lines += [f"name: {_scalar(self.title)}",
                  f"description: {_scalar(f'imported from {self.source}')}",
                  f"input: {s.w}x{s.h}x{s.c}"]
        return lines

    @staticmethod
    def volume(shape: tuple) -> str:
        if len(shape) == 3:
            return f"{shape[2]}x{shape[1]}x{shape[0]}"
        return str(shape[0]) if len(shape) == 1 else "x".join(map(str, shape))

    def block_lines(self, name: str, block) -> list[str]:
        uses = len(block["instances"])
        lines = [f"  {name}:  # {block['class']}, {uses} use{'s' if uses != 1 else ''}"]
        if block["params"]:
            params = ", ".join(f"{k}: {_scalar(v)}" for k, v in block["params"].items())
            lines.append(f"    params: {{{params}}}")
        lines.append("    layers:")
        slots = _Slots(block["exprs"])
        lines += self.items_lines(block["items"], block["path"], "      ", slots, _Level())
        return lines

    def items_lines(self, items, prefix: str, indent: str, slots, level: "_Level") -> list[str]:
        lines: list[str] = []
        for it in items:
            lines += self.item_lines(it, prefix, indent, slots, level)
        return lines

    def rel(self, name: str, prefix: str) -> str:
        return name[len(prefix) + 1:] if prefix and name.startswith(prefix + ".") else name

    def item_lines(self, it, prefix, indent, slots, level) -> list[str]:
        if isinstance(it, _TLeaf):
            op = it.op
            settings = _settings(op.hp, slots)
            name = self.rel(op.name, prefix)
            auto = level.auto_for(op.kind)
            head = f"{indent}- {op.kind}" + (f": {settings}" if settings is not None else "")
            if name == auto:
                level.take_auto(op.kind)
                return [head]
            level.taken.add(name)
            if settings is None:
                head += ":"
            return [head, f"{indent}  name: {_scalar(name)}"]
        if isinstance(it, _TMerge):
            return self.merge_lines(it, prefix, indent, slots, level)
        if isinstance(it, _TUse):
            name = self.rel(it.path, prefix)
            level.taken.add(name)
            lines = [f"{indent}- use: {it.block}"]
            with_ = self.with_text(it, slots)
            if with_:
                lines.append(f"{indent}  with: {{{with_}}}")
            lines.append(f"{indent}  name: {_scalar(name)}")
            return lines
        if isinstance(it, _TRepeat):
            name = self.rel(it.path, prefix)
            level.taken.add(name)
            with_ = self.with_text(it.use, slots)
            use = f"{{use: {it.use.block}" + (f", with: {{{with_}}}" if with_ else "") + "}"
            start = f", start: {it.start}" if it.start else ""
            return [f"{indent}- repeat: {{times: {it.times}{start}, layers: [{use}]}}",
                    f"{indent}  name: {_scalar(name)}"]
        raise TypeError(it)

    def with_text(self, use: _TUse, slots) -> str:
        """``with:`` of a use: each parameter of the block whose value differs from its
        default (inside a block: taken from that block's own parameters where it has one)."""
        block = self.blocks[use.block]
        parts = []
        for pname, default in block["params"].items():
            value = use.values[block["owners"][pname]]
            if slots is not None:
                value = slots.take_value(value)
            if isinstance(value, _Expr) or value != default:
                parts.append(f"{pname}: {value if isinstance(value, _Expr) else _scalar(value)}")
        return ", ".join(parts)

    def merge_lines(self, it: _TMerge, prefix, indent, slots, level) -> list[str]:
        if it.merge == "add" and len(it.paths) == 2:
            main, short = it.paths
            lines = [f"{indent}- residual:"]
            if short:
                lines.append(f"{indent}    flat: true")
            lines.append(f"{indent}    main:")
            lines += self.items_lines(main, prefix, indent + "      ", slots, level)
            if short:
                lines.append(f"{indent}    shortcut:")
                lines += self.items_lines(short, prefix, indent + "      ", slots, level)
            return lines
        lines = [f"{indent}- branches:", f"{indent}    merge: {it.merge}",
                 f"{indent}    flat: true", f"{indent}    paths:"]
        for path in it.paths:
            if not path:
                lines.append(f"{indent}      - []")
                continue
            inner = self.items_lines(path, prefix, indent + "        ", slots, level)
            inner[0] = f"{indent}      - " + inner[0][len(indent) + 8:]
            lines += inner
        return lines


@dataclass(frozen=True)
class _Expr:
    text: str

    def __str__(self) -> str:
        return self.text


class _Slots:
    """Hands out a block's numbers in order (those it kept: a used block's numbers that are
    not its parameters are not written): its parameter expression, or the number."""

    def __init__(self, exprs: dict[int, str]):
        self.exprs = exprs
        self.k = 0

    def take_value(self, value):
        k = self.k
        self.k += 1
        return _Expr(self.exprs[k]) if k in self.exprs else value


class _Level:
    """The spec loader's automatic names in one level (``conv1``, ``bn1``, …), to leave out
    the ``name:`` of a layer whose name the loader would give anyway."""

    def __init__(self):
        self.counts: dict[str, int] = {}
        self.taken: set[str] = set()

    def auto_for(self, kind: str) -> str:
        k = self.counts.get(kind, 0)
        while True:
            k += 1
            if f"{kind}{k}" not in self.taken:
                return f"{kind}{k}"

    def take_auto(self, kind: str) -> None:
        name = self.auto_for(kind)
        self.counts[kind] = int(name[len(kind):])
        self.taken.add(name)


def _settings(hp, slots) -> str | None:
    """A layer's settings as YAML flow text (``{filters: 64, size: 3}``, ``84``), numbers
    replaced by the block's parameters where it has them."""
    if hp is None:
        return None
    if isinstance(hp, dict):
        if not hp:
            return None
        parts = []
        for k, v in hp.items():
            value = slots.take_value(v) if slots is not None and isinstance(v, (int, float)) \
                and not isinstance(v, bool) else v
            parts.append(f"{k}: {value if isinstance(value, _Expr) else _scalar(value)}")
        return "{" + ", ".join(parts) + "}"
    if slots is not None and isinstance(hp, (int, float)) and not isinstance(hp, bool):
        value = slots.take_value(hp)
        return str(value) if isinstance(value, _Expr) else _scalar(value)
    return _scalar(hp)


def _scalar(v) -> str:
    """One YAML scalar, quoted only where YAML would read it as something else."""
    import yaml

    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        text = yaml.safe_dump(v, default_flow_style=True).strip()
        return text[:-4].strip() if text.endswith("...") else text
    if isinstance(v, int):
        return str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_scalar(x) for x in v) + "]"
    text = str(v)
    try:
        back = yaml.safe_load(text)
    except yaml.YAMLError:
        back = None
    if back == text or (isinstance(back, int) and not isinstance(back, bool)
                        and str(back) == text):
        if not any(c in text for c in ",[]{}#") and not text.startswith(("&", "*", "!", "'")):
            return text
    return "'" + text.replace("'", "''") + "'"
