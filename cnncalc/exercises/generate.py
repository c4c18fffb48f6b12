"""One sheet per student, each from its own ``random.Random``.

The generator is seeded from ``sha256(seed, student id)`` (never Python's ``hash()``, which
changes from run to run), so the same seed and id give the same sheet on any machine, and
different ids give different numbers.  Questions take the topics in the order asked, round
and round until ``count``.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Any

from ..errors import UsageError
from .answers import text as answer_text
from .topics import LEVELS, TOPICS, Question

KEY_FORMAT = 1  # the key's "cnncalc_exercises" version


@dataclass(frozen=True)
class Sheet:
    student: str
    questions: tuple[Question, ...]


def rng_for(seed: int, student: str) -> random.Random:
    digest = hashlib.sha256(f"cnncalc-exercises\0{seed}\0{student}".encode()).digest()
    return random.Random(int.from_bytes(digest, "big"))


def parse_topics(text: str | None) -> list[str]:
    """``--topics a,b`` (or ``all``): known topic names, in the order given."""
    if text is None or text.strip().lower() == "all":
        return list(TOPICS)
    out = []
    for word in text.replace(" ", ",").split(","):
        if not word:
            continue
        if word not in TOPICS:
            from ..layers import closest

            near = closest(word, list(TOPICS))
            raise UsageError(f"unknown topic {word!r}"
                             + (f"; did you mean {near!r}?" if near else "")
                             + f"; the topics are {', '.join(TOPICS)}", param="topics")
        out.append(word)
    if not out:
        raise UsageError("no topic given; name some of " + ", ".join(TOPICS), param="topics")
    return out


def make_sheet(seed: int, student: str, topics: list[str], count: int, level: str) -> Sheet:
    if level not in LEVELS:
        raise UsageError(f"unknown level {level!r}; use {', '.join(LEVELS)}", param="level")
    rng = rng_for(seed, student)
    return Sheet(student, tuple(TOPICS[topics[i % len(topics)]](rng, level)
                                for i in range(count)))


def make_sheets(seed: int, students: list[str], topics: list[str], count: int | None = None,
                level: str = "medium") -> list[Sheet]:
    return [make_sheet(seed, s, topics, count or len(topics), level) for s in students]


def read_students(text: str, file: str) -> list[str]:
    """``--students FILE``: one id a line; blank lines and ``#`` comments are skipped; an id
    given twice is an error (two students would get the same sheet)."""
    from ..errors import Issue, Location, SpecError

    seen: dict[str, int] = {}
    issues = []
    for n, line in enumerate(text.splitlines(), 1):
        sid = line.split("#", 1)[0].strip()
        if not sid:
            continue
        if sid in seen:
            col = line.index(sid) + 1
            issues.append(Issue(Location(file, n, col),
                                f"student {sid!r} is listed twice (first on line {seen[sid]})",
                                hint="give each student one line"))
        seen.setdefault(sid, n)
    if issues:
        raise SpecError(*issues)
    if not seen:
        raise SpecError(Issue(Location(file), "lists no student",
                              hint="write one student id a line"))
    return list(seen)


def key_json(sheets: list[Sheet], seed: int, level: str, topics: list[str]) -> dict[str, Any]:
    """The answer key for programs (``cnncalc grade`` reads it)."""
    return {
        "cnncalc_exercises": KEY_FORMAT,
        "seed": seed,
        "level": level,
        "topics": topics,
        "students": [{"id": s.student, "questions": [question_json(i + 1, q)
                                                     for i, q in enumerate(s.questions)]}
                     for s in sheets],
    }


def question_json(number: int, q: Question) -> dict[str, Any]:
    return {"number": number, "topic": q.topic, "kind": str(q.kind), "question": q.text,
            "answer": q.answer, "answer_text": answer_text(q.kind, q.answer),
            "formula": q.formula,
            "slips": [{"answer": v, "slip": t} for v, t in q.slips],
            "given": q.given}
