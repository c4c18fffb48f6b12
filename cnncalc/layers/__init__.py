"""The layer registry: YAML key → layer class.

Importing this package imports every family module, whose ``@register`` decorators fill
:data:`REGISTRY`.  ``cnncalc layers`` prints it, so the docs cannot drift from the code.
"""

from __future__ import annotations

from .base import Field, Finding, Layer, LayerError, Window

REGISTRY: dict[str, type[Layer]] = {}


def register(cls: type[Layer]) -> type[Layer]:
    """Class decorator: register a layer kind under ``cls.key``; refuses duplicates."""
    if not cls.key:
        raise ValueError(f"{cls.__name__} has no key")
    if cls.params is not Layer.params and cls.macs is Layer.macs:
        raise ValueError(f"layer kind '{cls.key}' has weights but does not state its MACs: "
                         f"define macs (return 0 where the convention counts none)")
    if cls.key in REGISTRY:
        raise ValueError(f"layer kind '{cls.key}' is registered twice "
                         f"({REGISTRY[cls.key].__name__} and {cls.__name__})")
    REGISTRY[cls.key] = cls
    return cls


def closest(word: str, known) -> str | None:
    """The nearest known name, for 'did you mean …?' hints."""
    import difflib  # only when a name is wrong: not at start-up

    match = difflib.get_close_matches(str(word).lower(), list(known), n=1, cutoff=0.5)
    return match[0] if match else None


from . import activation, channels, conv, crop, dense, norm, pool, resample, traced  # noqa: E402,F401  (registers)

__all__ = ["REGISTRY", "register", "closest", "Field", "Finding", "Layer", "LayerError",
           "Window"]
