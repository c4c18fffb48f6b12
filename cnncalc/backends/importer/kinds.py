"""PyTorch classes and functions → cnncalc kinds, read from the layer classes' ``torch``
attribute (:class:`cnncalc.layers.base.Torch`): nothing here names a kind.

A module is the kind of the first class in its class hierarchy (its MRO) that a kind
declares, so ``class MyConv(nn.Conv2d)`` is a conv; unless the module's class overrides
``forward``, when what it computes is no longer that class's: then it is traced through.

cnncalc's export copies its own modules (:mod:`cnncalc.backends.extra_modules`) into the file it
writes, so a class there that a kind declares is also recognised by its copy: a class of the
same name whose methods have the same source text.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
from functools import lru_cache

CNNCALC_MODULES = "cnncalc.backends.extra_modules"


@lru_cache(maxsize=1)
def _module_table() -> dict:
    """Class object → kind, for every class a registered kind declares whose package is
    installed (``torchvision.ops.StochasticDepth`` needs torchvision)."""
    from ...layers import REGISTRY

    table: dict = {}
    for key, cls in REGISTRY.items():
        for qualified in cls.torch.modules:
            module, _, name = qualified.rpartition(".")
            try:
                found = getattr(importlib.import_module(module), name)
            except (ImportError, AttributeError):
                continue
            table.setdefault(found, key)
    return table


@lru_cache(maxsize=1)
def _function_table() -> dict[str, str]:
    """Function name (``relu``, ``batch_norm``) → kind."""
    from ...layers import REGISTRY

    table: dict[str, str] = {}
    for key, cls in REGISTRY.items():
        for name in cls.torch.functions:
            table.setdefault(name, key)
    return table


def module_kind(m) -> tuple[str | None, type | None]:
    """``(kind, the declared class it comes from)`` of module ``m``; ``(None, that class)``
    when ``m``'s class overrides its ``forward`` (trace through it); ``(None, None)`` when no
    class of its hierarchy is a kind's."""
    table = _module_table()
    for base in type(m).__mro__:
        kind = table.get(base)
        if kind is not None:
            if getattr(type(m), "forward", None) is not getattr(base, "forward", None):
                return None, base
            return kind, base
    return _copied(type(m))


@lru_cache(maxsize=256)
def _copied(cls: type) -> tuple[str | None, type | None]:
    """``(kind, cnncalc's class)`` when ``cls`` is the export's copy of a module of
    :mod:`cnncalc.backends.extra_modules` that a kind declares (same name, same source text)."""
    for declared, kind in _module_table().items():
        if declared.__module__ != CNNCALC_MODULES or declared.__name__ != cls.__name__ \
                or declared is cls:
            continue
        if _methods(cls) == _methods(declared):
            return kind, declared
    return None, None


def _methods(cls: type) -> dict[str, str] | None:
    """The source of each function ``cls`` defines (a class's own source needs its module in
    ``sys.modules``, which a file the importer loads is not), or ``None``."""
    try:
        return {name: inspect.getsource(f) for name, f in vars(cls).items()
                if inspect.isfunction(f)}
    except (OSError, TypeError):  # no source to compare (a class made in a string)
        return None


def function_kind(name: str) -> str | None:
    return _function_table().get(name)


def nearest_kind(word: str) -> str:
    """The kind whose key, module class or function name is nearest ``word`` (a class or a
    function name), or ``""``: computed from the declarations, never a table."""
    from ...layers import REGISTRY

    names: dict[str, str] = {}
    for key, cls in REGISTRY.items():
        names.setdefault(_plain(key), key)
        for qualified in cls.torch.modules:
            names.setdefault(_plain(qualified.rpartition(".")[2]), key)
        for function in cls.torch.functions:
            names.setdefault(_plain(function), key)
    word = _plain(word)
    best, score = "", 0.0
    for name, key in names.items():
        ratio = difflib.SequenceMatcher(None, word, name).ratio()
        # a close spelling, or the same family word at the end (GroupNorm and LayerNorm)
        if (ratio >= 0.6 or _common_suffix(word, name) >= 4) and ratio > score:
            best, score = key, ratio
    return best


def _common_suffix(a: str, b: str) -> int:
    k = 0
    while k < min(len(a), len(b)) and a[-1 - k] == b[-1 - k]:
        k += 1
    return k


def _plain(name: str) -> str:
    """``BatchNorm2d`` / ``batch_norm`` → ``batchnorm``: case, underscores and the trailing
    dimension do not tell names apart."""
    text = name.lower().replace("_", "")
    return text[:-2] if text.endswith(("1d", "2d", "3d")) else text
