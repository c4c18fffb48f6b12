"""Tracing: the model's forward as a list of :class:`_Node` (torch.fx, or torch.export folded
back into module calls), with every tensor's shape and PyTorch's own totals."""

from __future__ import annotations

import contextlib
import re
import warnings
from dataclasses import dataclass
from typing import Any

from .kinds import module_kind
from .sources import ImportFailure, _one_line, _torch, _user_frame

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
    flops: int | None = None  # FlopCounterMode's FLOPs for this op (None: not recorded)


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
                out = _ShapeRecorder(gm, counter).run(x)
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
    """torch.fx's tracer: a module of a kind (by its class hierarchy, :mod:`.kinds`) is a leaf,
    kept whole with its qualified name (torchvision's StochasticDepth too)."""

    def __new__(cls, record: bool = False):
        import torch.fx

        class Tracer(torch.fx.Tracer):
            def is_leaf_module(self, m, qualname):
                # a kind's module (or a subclass keeping its forward) is one layer; a
                # subclass with its own forward is traced through, as a model's code is
                kind, declared = module_kind(m)
                if kind is not None:
                    return True
                if declared is not None:
                    return False
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
    called = {str(n.target) for n in nodes if n.op == "call_module"}
    for name, module in model.named_modules():
        if not name or name in reached or any(name.startswith(o + ".") for o, _ in out):
            continue
        if any(name.startswith(c + ".") for c in called):
            continue  # inside a module called whole (a kind's, e.g. ChannelConv's Conv1d)
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
    return _Node(n.op, n.target, n.args, dict(n.kwargs), n.name, shape, scope,
                 flops=n.meta.get("flops"))


class _ShapeRecorder:
    """Run a GraphModule node by node, keeping each tensor's shape in ``node.meta``
    (torch.fx's ShapeProp, without its per-node metadata we do not need), and each node's
    share of ``counter``'s FLOPs (what a traced layer counts: :mod:`.fallback`)."""

    def __new__(cls, gm, counter=None, shapes: bool = True):
        import torch
        import torch.fx

        class Recorder(torch.fx.Interpreter):
            def run_node(self, n):
                before = counter.get_total_flops() if counter is not None else 0
                result = super().run_node(n)
                if counter is not None:
                    n.meta["flops"] = counter.get_total_flops() - before
                if not shapes:
                    return result
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
    total = counter.get_total_flops()
    nodes = _ExportFolder(program, model, _export_flops(program, x, total)).fold()
    return nodes, _first_tensor(out), total // 2


def _export_flops(program, x, total: int) -> dict[str, int]:
    """FlopCounterMode's FLOPs for each op of an exported program (its aten nodes' names →
    FLOPs), what a traced layer counts (:mod:`.fallback`): its graph run node by node on
    ``x`` with the model's own weights.  Empty when that run fails or its FLOPs are not
    ``total``, the model's own (then no op is attributed, and the fallback refuses)."""
    torch = _torch()
    from torch.export.graph_signature import InputKind
    from torch.utils.flop_counter import FlopCounterMode

    state = dict(program.state_dict)
    state.update(program.constants)
    args = []
    for spec in program.graph_signature.input_specs:
        if spec.kind == InputKind.USER_INPUT:
            args.append(x)
        elif spec.target in state:
            args.append(state[spec.target])
        else:
            return {}
    gm = program.graph_module
    try:
        with warnings.catch_warnings(), _quiet(), \
                FlopCounterMode(display=False) as counter, torch.no_grad():
            warnings.simplefilter("ignore")
            _ShapeRecorder(gm, counter, shapes=False).run(*args)
    except Exception:  # noqa: BLE001 - no per-op FLOPs: the import refuses what has no kind
        return {}
    flops = {n.name: n.meta.pop("flops", 0) for n in gm.graph.nodes}
    return flops if sum(flops.values()) == total else {}


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

    def __init__(self, program, model, flops: dict[str, int] | None = None):
        self.program = program
        self.model = model
        self.flops = flops or {}  # aten node → FLOPs (:func:`_export_flops`); {}: not known
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
                    if folded.flops is not None:
                        folded.flops += self.flops.get(n.name, 0)
                    mapping[n.name] = folded.name
                    continue
                inputs = [a for a in _flat_args(n.args) if isinstance(a, torch.fx.Node)
                          and not mapping.get(a.name, "").startswith("p_")]
                first = next((a for a in inputs if a.name in mapping and
                              _is_activation(out, mapping[a.name])), None)
                node = _Node("call_module", leaf[1], (_Ref(mapping[first.name]),) if first else (),
                             {}, n.name, shape, leaf[1], flops=self.op_flops(n))
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
                             _rename(dict(n.kwargs), mapping), n.name, shape, scope,
                             flops=self.op_flops(n)))
            mapping[n.name] = n.name
        return out

    def op_flops(self, n) -> int | None:
        return self.flops.get(n.name, 0) if self.flops else None


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
