"""``@record``: a frozen dataclass that costs a quarter of one to create.

Python 3.11's ``@dataclass(frozen=True)`` writes six methods for each class as source text and
compiles them while the module is imported (``__init__``, ``__repr__``, ``__eq__``,
``__hash__``, ``__setattr__``, ``__delattr__``): most of a millisecond a class.  ``inspect``
imports some thirty-five such classes (the spec tree, the report, the layers' formulas), and
compiling them was a fifth of its start-up.  ``@record`` compiles one, the ``__init__``, and
only when the first record of its class is made (a run makes no errors, and no nodes of the
combinators its spec does not use).  It is written as dataclass writes a frozen one: the init
fields in order as parameters, defaults and ``default_factory`` alike, each value set with
``object.__setattr__``, then ``__post_init__``.  The other five are the shared functions below
and do what the generated ones do: equal when the class and the compared fields are, hashed on
those fields, ``Name(field=value, …)``, ``FrozenInstanceError`` on assignment.
``dataclasses.fields``, ``replace``, ``asdict``, pickling and copying work as on a dataclass;
keyword-only fields and ``InitVar`` are not supported (no record has one).
``tests/test_records.py`` holds every record to the stdlib dataclass of its fields.
"""

from __future__ import annotations

from dataclasses import MISSING, FrozenInstanceError, dataclass, fields
from operator import attrgetter


def record(cls=None, /, *, slots: bool = True):
    """``@record``, or ``@record(slots=False)``: a frozen dataclass (see the module)."""
    def wrap(cls):
        documented = cls.__dict__.get("__doc__")
        cls = dataclass(cls, init=False, repr=False, eq=False, slots=slots)
        if not documented:  # dataclass wrote "Name()", from the __init__ that is not there yet
            cls.__doc__ = f"{cls.__name__}({', '.join(f.name for f in fields(cls) if f.init)})"
        cls.__init__ = _first_init(cls)
        # the compared fields and the class, as a tuple: attrgetter of one name would give a
        # bare value; the class, equal between the two records compared, costs nothing
        cls._compared = attrgetter(*(f.name for f in fields(cls) if f.compare), "__class__")
        cls._shown = tuple(f.name for f in fields(cls) if f.repr)
        cls.__eq__, cls.__hash__, cls.__repr__ = _eq, _hash, _repr
        cls.__setattr__, cls.__delattr__ = _setattr, _delattr
        if slots:  # no __dict__ to restore: set the slots, past __setattr__
            cls.__getstate__, cls.__setstate__ = _getstate, _setstate
        return cls

    return wrap if cls is None else wrap(cls)


class _Factory:
    """The default of a parameter whose field has a ``default_factory``, as in dataclass."""

    def __repr__(self) -> str:
        return "<factory>"


_FACTORY = _Factory()


def _first_init(cls):
    """A stand-in that compiles the ``__init__`` when the first record of ``cls`` is made, and
    puts it in its place: a run compiles none for the records it never makes (errors, combinators
    a spec does not use)."""
    def __init__(self, *args, **kwargs):
        cls.__init__ = init = _init(cls)
        init(self, *args, **kwargs)

    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    return __init__


def _init(cls):
    """The ``__init__`` dataclass writes for a frozen class, compiled once."""
    params, body = [], []
    names = {"_set": object.__setattr__, "_FACTORY": _FACTORY}
    for f in fields(cls):
        if f.kw_only:
            raise TypeError(f"{cls.__qualname__}.{f.name}: a record has no keyword-only fields")
        default, factory = f"_default_{f.name}", f"_factory_{f.name}"
        names[default], names[factory] = f.default, f.default_factory
        if f.init:
            value = f.name
            if f.default is not MISSING:
                params.append(f"{f.name}={default}")
            elif f.default_factory is not MISSING:
                params.append(f"{f.name}=_FACTORY")
                value = f"{factory}() if {f.name} is _FACTORY else {f.name}"
            else:
                params.append(f.name)
        elif f.default is not MISSING:
            value = default
        elif f.default_factory is not MISSING:
            value = f"{factory}()"
        else:
            continue  # neither given nor defaulted: left unset, as dataclass leaves it
        body.append(f"    _set(self, {f.name!r}, {value})")
    if hasattr(cls, "__post_init__"):
        body.append("    self.__post_init__()")
    source = f"def __init__(self, {', '.join(params)}):\n" + "\n".join(body or ["    pass"])
    exec(source, names)
    init = names["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init


def _eq(self, other):
    if other.__class__ is self.__class__:
        key = self._compared
        return key(self) == key(other)
    return NotImplemented


def _hash(self):
    return hash(self._compared(self))


def _repr(self):
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._shown)
    return f"{self.__class__.__qualname__}({shown})"


def _setattr(self, name, value):
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _delattr(self, name):
    raise FrozenInstanceError(f"cannot delete field {name!r}")


def _getstate(self):
    return [getattr(self, f.name) for f in fields(self)]


def _setstate(self, state):
    for f, value in zip(fields(self), state):
        object.__setattr__(self, f.name, value)
