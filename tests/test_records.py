"""``@record`` (cnncalc/records.py) against the stdlib dataclass it stands for: for every record
in the package, equality, hash, repr, immutability and ``replace`` behave as
``@dataclass(frozen=True)`` of the same fields does."""

from __future__ import annotations

import copy
import dataclasses
import importlib
import inspect
import pickle
import pkgutil

import pytest

import cnncalc
from cnncalc import records
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
    """The stdlib frozen dataclass of the same fields: defaults, init, compare and repr."""
    spec = [(f.name, object, dataclasses.field(default=f.default,
                                               default_factory=f.default_factory, init=f.init,
                                               compare=f.compare, repr=f.repr))
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
    with pytest.raises(dataclasses.FrozenInstanceError):
        delattr(a, names[0])
    assert copy.deepcopy(a) == a and pickle.loads(pickle.dumps(a)) == a
    assert signature(cls) == signature(ref)  # the same parameters and defaults, in order


def signature(cls: type) -> list[tuple]:
    """The parameters of the class's __init__; a record's as compiled at its first instance."""
    init = records._init(cls) if "_compared" in vars(cls) else cls.__init__
    return [(p.name, p.kind, repr(p.default)) for p in inspect.signature(init).parameters.values()]


def test_record_and_dataclass_agree_on_a_class_of_its_own():
    def make(decorate):
        class Rec:
            size: int
            name: str = "x"
            note: str = dataclasses.field(default="", compare=False, repr=False)
            seen: list = dataclasses.field(default_factory=list, compare=False)
            total: int = dataclasses.field(init=False, default=0)

            def __post_init__(self):
                object.__setattr__(self, "total", self.size + len(self.seen))
        return decorate(Rec)

    for cls in (make(record), make(dataclasses.dataclass(frozen=True, slots=True))):
        one, two = cls(3), cls(3, note="differs")
        assert one == two and hash(one) == hash(two) and one.total == 3  # __post_init__ ran
        assert one != cls(4) and one != cls(3, "y") and cls(3, seen=[1, 2]).total == 5
        assert cls(3).seen is not cls(3).seen  # a new list each time
        assert repr(one).endswith("Rec(size=3, name='x', seen=[], total=3)")
        assert dataclasses.replace(one, size=5) == cls(5)
        assert not hasattr(one, "__dict__")  # slotted
        assert copy.deepcopy(one) == one and copy.copy(one) == one  # __reduce_ex__, as pickle
        with pytest.raises(dataclasses.FrozenInstanceError):
            one.size = 4
        with pytest.raises(TypeError):
            cls()  # size is required
    assert signature(make(record)) == signature(make(dataclasses.dataclass(frozen=True)))
    opened = record(slots=False)(type("Open", (), {"__annotations__": {"n": "int"}}))(1)
    assert opened.__dict__ == {"n": 1}
    with pytest.raises(dataclasses.FrozenInstanceError):
        opened.n = 2


def test_a_record_compiles_its_init_when_its_first_instance_is_made():
    @record
    class Point:
        x: int
        y: int = 0

    stand_in = Point.__init__
    assert Point(1) == Point(1, 0) and Point.__init__ is not stand_in
    assert list(inspect.signature(Point).parameters) == ["x", "y"]
    assert Point(y=2, x=1) == Point(1, 2) and Point.__init__.__qualname__.endswith("Point.__init__")
    assert Point.__doc__ == "Point(x, y)"  # as dataclass writes one, without the types
