"""``@record`` (cnncalc/records.py) against the stdlib dataclass it stands for: for every record
in the package, equality, hash, repr, immutability and ``replace`` behave as
``@dataclass(frozen=True)`` of the same fields does."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil

import pytest

import cnncalc
from cnncalc.records import record


def every_record() -> list[type]:
    found = {}
    for info in pkgutil.walk_packages(cnncalc.__path__, "cnncalc."):
        if info.name.startswith("cnncalc.backends") or info.name == "cnncalc.__main__":
            continue  # torch's side (records are the core's), and the command line itself
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if isinstance(value, type) and "_compared" in vars(value):
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return [found[name] for name in sorted(found)]


RECORDS = every_record()


def test_the_start_up_path_is_made_of_records():
    # the classes inspect builds; a new frozen dataclass there should be a @record too
    names = {cls.__qualname__ for cls in RECORDS}
    assert {"Location", "Shape", "Leaf", "Group", "Row", "Counts", "Report", "Formula"} <= names
    assert len(RECORDS) >= 30


def twin(cls: type) -> type:
    """The stdlib frozen dataclass of the same fields, compare and repr flags."""
    spec = [(f.name, object, dataclasses.field(compare=f.compare, repr=f.repr))
            for f in dataclasses.fields(cls)]
    made = dataclasses.make_dataclass(cls.__name__, spec, frozen=True)
    made.__qualname__ = cls.__qualname__
    return made


def build(cls: type, values: dict):
    """An instance with these field values, whatever the class's __init__ and checks."""
    obj = object.__new__(cls)
    for name, value in values.items():
        object.__setattr__(obj, name, value)
    return obj


@pytest.mark.parametrize("cls", RECORDS, ids=lambda c: c.__qualname__)
def test_a_record_behaves_as_its_dataclass(cls):
    assert dataclasses.is_dataclass(cls)
    params = cls.__dataclass_params__
    assert params.frozen
    names = [f.name for f in dataclasses.fields(cls)]
    base = {name: i for i, name in enumerate(names)}
    ref = twin(cls)
    a, b = build(cls, base), build(cls, dict(base))
    ra, rb = build(ref, base), build(ref, dict(base))
    assert repr(a) == repr(ra)
    assert (a == b) is (ra == rb) is True
    assert hash(a) == hash(b)
    assert a.__eq__(object()) is NotImplemented
    for f in dataclasses.fields(cls):
        changed = dict(base, **{f.name: -1})
        c, rc = build(cls, changed), build(ref, changed)
        assert (a == c) is (ra == rc), f.name  # a field that compares tells them apart
        assert repr(c) == repr(rc)
        if f.compare:
            assert hash(a) != hash(c)  # (small ints: their tuples' hashes differ)
        else:
            assert hash(a) == hash(c)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(a, names[0], 7)


def test_record_and_dataclass_agree_on_a_class_of_its_own():
    def make(decorate):
        class Rec:
            size: int
            name: str = "x"
            note: str = dataclasses.field(default="", compare=False, repr=False)
        return decorate(Rec)

    for cls in (make(record), make(dataclasses.dataclass(frozen=True, slots=True))):
        one, two = cls(3), cls(3, note="differs")
        assert one == two and hash(one) == hash(two)
        assert one != cls(4) and one != cls(3, "y")
        assert repr(one).endswith("Rec(size=3, name='x')")
        assert dataclasses.replace(one, size=5) == cls(5)
        assert {one: 1}[two] == 1
        assert not hasattr(one, "__dict__")  # slotted
        with pytest.raises(dataclasses.FrozenInstanceError):
            one.size = 4
    assert hasattr(record(slots=False)(type("Open", (), {"__annotations__": {"n": "int"}}))(1),
                   "__dict__")
