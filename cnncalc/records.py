"""``@record``: a frozen dataclass whose equality, hash and repr are written once, here.

Python 3.11's ``dataclass`` writes each method of each class as source text and compiles it
while the module is imported: six methods, most of a millisecond, for a frozen class.
``inspect`` imports some thirty such classes (the spec tree, the report, the layers' formulas),
a fifth of its start-up.  ``@record`` is ``@dataclass(frozen=True, slots=True)`` less three of
those six compilations: ``__eq__``, ``__hash__`` and ``__repr__`` are the functions below and
do what the generated ones do (the same class and equal compared fields, in order; the hash of
those fields; ``Name(field=value, …)``).  A record is a dataclass to ``fields``, ``replace``
and ``asdict``; ``tests/test_records.py`` holds every record to a stdlib dataclass of the same
fields.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from operator import attrgetter


def record(cls=None, /, *, slots: bool = True):
    """``@record``, or ``@record(slots=False)``: a frozen dataclass (see the module)."""
    def wrap(cls):
        cls = dataclass(cls, frozen=True, slots=slots, eq=False, repr=False)
        # the compared fields and the class, as a tuple: attrgetter of one name would give a
        # bare value; the class, equal between the two records compared, costs nothing
        cls._compared = attrgetter(*(f.name for f in fields(cls) if f.compare), "__class__")
        cls._shown = tuple(f.name for f in fields(cls) if f.repr)
        cls.__eq__, cls.__hash__, cls.__repr__ = _eq, _hash, _repr
        return cls

    return wrap if cls is None else wrap(cls)


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

