"""Sources (``torchvision:NAME``, ``timm:NAME``, ``file.py:Name``, ``package.module:Name``): the
model built, on the meta device where it can be; and :func:`import_model`, which runs the
import's four steps (trace, convert, tree, write)."""

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

from .. import BackendError, torch_missing

DEFAULT_INPUT = "224x224x3"

# --- sources ---------------------------------------------------------------------------------

_PY_SOURCE = re.compile(r"^(?P<path>.+\.py):(?P<name>[A-Za-z_]\w*)$")
_PKG_SOURCE = re.compile(r"^(?P<module>[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)*):(?P<name>[A-Za-z_]\w*)$")


def is_model_source(source: str) -> bool:
    """``torchvision:NAME``, ``timm:NAME``, ``file.py:Name`` or ``package.module:Name`` (not ``zoo:NAME``)."""
    text = str(source)
    if text.startswith("zoo:") or "\n" in text:
        return False
    return text.startswith(("torchvision:", "timm:")) or bool(_PY_SOURCE.match(text)) or bool(
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
    from ...spec import parse

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
    if source.startswith("timm:"):
        return _build_timm(source, args)
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


def _build_timm(source: str, args: dict[str, Any]):
    """``timm:NAME``: ``timm.create_model(NAME, pretrained=False, **args)`` on the meta device;
    its input defaults to the model's ``pretrained_cfg`` input size."""
    name = source.split(":", 1)[1]
    try:
        import timm
    except ImportError:
        raise ImportFailure(f"{source}: timm is not installed; pip install timm==1.0.31 "
                            f"(see the README)") from None
    known = timm.list_models()
    if name not in known:
        hint = _closest(name, known) or "; timm.list_models() lists them"
        raise ImportFailure(f"{source}: timm has no model {name!r}{hint}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with _meta_weights():
            model = _construct(source, lambda **kw: timm.create_model(name, pretrained=False,
                                                                      **kw), args, lambda: None)
    volume = DEFAULT_INPUT
    size = (getattr(model, "pretrained_cfg", None) or {}).get("input_size")
    if size and len(size) == 3:
        volume = f"{size[2]}x{size[1]}x{size[0]}"
    return model, name, volume, True


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
    here = str(Path(__file__).resolve().parents[2])
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
    from ...formulas import parse_volume

    try:
        shape = parse_volume(text)
    except ValueError as e:
        raise ImportFailure(f"--input {text}: {e}") from None
    if not shape.spatial:
        raise ImportFailure(f"--input {text}: give an image volume W×H×D, e.g. 224x224x3")
    return shape


def traced_notes(ops, shape) -> list[str]:
    """A note naming the layers written as ``traced`` (:mod:`.fallback`), when there are any."""
    from ...layers.traced import Traced

    names = [op.name for op in ops if op.kind == Traced.key]
    if not names:
        return []
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    one = len(names) == 1
    return [f"{len(names)} traced layer{'' if one else 's'} ({shown}) stand"
            f"{'s' if one else ''} for ops with no cnncalc kind: {'its' if one else 'their'} "
            f"shapes, params and MACs are this trace's at {shape.w}×{shape.h}×{shape.c}; "
            f"sizes, verify and export cannot reason through {'it' if one else 'them'} "
            f"(--exact refuses instead)"]


def import_model(source: str, *, input_volume: str | None = None,
                 args: dict[str, Any] | None = None, traced: bool = True) -> Imported:
    """Import ``source`` and return the spec's YAML text; errors are :class:`ImportFailure`.
    An op with no kind becomes a ``traced`` layer (:mod:`.fallback`); ``traced=False``
    refuses it instead (``cnncalc import --exact``)."""
    from .convert import _Converter
    from .fallback import convert
    from .trace import _trace
    from .tree import build_tree
    from .write import _Writer

    model, title, default_volume, meta = _build(source, dict(args or {}))
    model.eval()  # BN uses its running statistics: a batch of one works
    shape = _parse_volume(input_volume or default_volume)
    found = _trace(model, shape, meta, source)
    if traced:  # the fallback builds the tree too: a merge read twice can become traced
        ops, tree = convert(found, source)
    else:
        ops, out, side = _Converter(found, source).run()
        tree = build_tree(ops, out, side, source)
    if not tree:  # a spec lists at least one layer: an empty `layers:` would not load
        raise ImportFailure(f"{source}: forward() computes nothing cnncalc counts (its output "
                            f"is its input, or only identities run in eval mode): there is "
                            f"no layer to write")
    notes = list(found.notes) + traced_notes(ops, shape)
    text = _Writer(found, tree, source, title, shape, notes).text()
    return Imported(source, text, tuple(notes))
