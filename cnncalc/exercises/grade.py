"""``cnncalc grade``: the students' answers against the key, each wrong one with its slip.

Answers come as CSV (a header ``student,question,answer``, then one answer a line) or YAML
(a list of ``{student, question, answer}``, or a map ``student: {question: answer}``).
``question`` is the number on the sheet.  A blank answer, or a question left out, is wrong;
an answer that cannot be read as the question's kind (a number, W×H×D, strides, a matrix) is
wrong with what was expected.  A line that is not an answer (too few fields, an unknown student
or question, the same question twice) stops the grading: every such line is reported as
``FILE:LINE:COL: error: …`` and nothing is graded (exit 2).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

from ..errors import Issue, Location, SpecError
from .answers import Kind, read
from .generate import KEY_FORMAT


@dataclass(frozen=True)
class Answer:
    student: str
    number: int
    raw: Any
    where: Location  # the answer
    who: Location  # the student id
    which: Location  # the question number


@dataclass(frozen=True)
class Mark:
    student: str
    number: int
    topic: str
    given: str  # what the student wrote ('' for blank)
    ok: bool
    right: str  # the key's answer, as text
    formula: str
    slip: str = ""  # the likely slip, when a known one gives the wrong answer
    note: str = ""  # blank, or could not be read


@dataclass(frozen=True)
class Score:
    student: str
    right: int
    total: int


@dataclass(frozen=True)
class Grades:
    marks: tuple[Mark, ...]
    scores: tuple[Score, ...]
    absent: tuple[str, ...]  # students in the key with no answer at all


# --- the key ------------------------------------------------------------------------------

def read_key(text: str, file: str) -> dict[str, dict[int, dict]]:
    """``{student: {number: question}}`` from ``cnncalc exercises``' key.json."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise SpecError(Issue(Location(file, e.lineno, e.colno), f"not JSON: {e.msg}",
                              hint="give the key.json that cnncalc exercises wrote")) from None
    if not isinstance(data, dict) or data.get("cnncalc_exercises") != KEY_FORMAT:
        raise SpecError(Issue(Location(file, 1, 1), "is not a cnncalc exercises key",
                              hint="give the key.json that cnncalc exercises wrote"))
    return {str(s["id"]): {q["number"]: q for q in s["questions"]} for s in data["students"]}


# --- reading the answers -----------------------------------------------------------------

def field_columns(line: str) -> list[int]:
    """1-based column where each CSV field of ``line`` starts (quotes respected)."""
    cols, quoted = [1], False
    for i, ch in enumerate(line):
        if ch == '"':
            quoted = not quoted
        elif ch == "," and not quoted:
            cols.append(i + 2)
    return cols


def read_csv(text: str, file: str) -> tuple[list[Answer], list[Issue]]:
    lines = text.splitlines()
    answers, issues = [], []
    header_seen = False
    for n, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        row = next(csv.reader(io.StringIO(line)))
        cols = field_columns(line)
        if not header_seen:
            header_seen = True
            if [c.strip().lower() for c in row[:3]] != ["student", "question", "answer"]:
                issues.append(Issue(Location(file, n, 1), "the first line must be the header "
                                    "student,question,answer",
                                    hint="add it, then one answer a line"))
                return answers, issues
            continue
        if len(row) != 3:
            col = cols[min(len(row), 3) - 1] if len(row) > 3 else len(line) + 1
            issues.append(Issue(Location(file, n, col),
                                f"expected 3 fields (student,question,answer), got {len(row)}",
                                hint='quote an answer that holds commas: "1, 2, 4"'))
            continue
        number = question_number(row[1])
        if number is None:
            issues.append(Issue(Location(file, n, cols[1]),
                                f"question {row[1].strip()!r} is not a number",
                                hint="write the question's number on the sheet, e.g. 3"))
            continue
        answers.append(Answer(row[0].strip(), number, row[2], Location(file, n, cols[2]),
                              Location(file, n, 1), Location(file, n, cols[1])))
    if not header_seen:
        issues.append(Issue(Location(file), "holds no answers",
                            hint="write the header student,question,answer, then one a line"))
    return answers, issues


def question_number(text: Any) -> int | None:
    if isinstance(text, bool):
        return None
    if isinstance(text, int):
        return text
    t = str(text).strip().lstrip("Qq")
    return int(t) if t.isdigit() else None


def read_yaml(text: str, file: str) -> tuple[list[Answer], list[Issue]]:
    import yaml

    def at(node) -> Location:
        return Location(file, node.start_mark.line + 1, node.start_mark.column + 1)

    try:
        root = yaml.compose(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file)
        raise SpecError(Issue(where, f"not YAML: {getattr(e, 'problem', None) or e}")) from None
    answers: list[Answer] = []
    issues: list[Issue] = []
    if root is None:
        return answers, [Issue(Location(file), "holds no answers")]

    def value(node) -> Any:  # the node as PyYAML's safe loader reads it
        return yaml.safe_load(yaml.serialize(node))

    def add(student_node, q_node, a_node) -> None:
        number = question_number(value(q_node))
        if number is None:
            issues.append(Issue(at(q_node), f"question {value(q_node)!r} is not a number",
                                hint="write the question's number on the sheet, e.g. 3"))
            return
        # an id as written: 007 stays 007 (PyYAML would read it as the number 7)
        sid = student_node.value if isinstance(student_node, yaml.ScalarNode) \
            else str(value(student_node))
        answers.append(Answer(sid, number, value(a_node), at(a_node),
                              at(student_node), at(q_node)))

    if isinstance(root, yaml.SequenceNode):
        for item in root.value:
            if not isinstance(item, yaml.MappingNode):
                issues.append(Issue(at(item), "expected {student, question, answer}"))
                continue
            got = {k.value: v for k, v in item.value}
            missing = [k for k in ("student", "question", "answer") if k not in got]
            extra = [k for k in got if k not in ("student", "question", "answer")]
            if missing or extra:
                issues.append(Issue(at(item), (f"missing {', '.join(missing)}" if missing else
                                               f"unknown key {extra[0]!r}")
                                    + "; each answer is {student, question, answer}"))
                continue
            add(got["student"], got["question"], got["answer"])
    elif isinstance(root, yaml.MappingNode):
        for s_node, body in root.value:
            if not isinstance(body, yaml.MappingNode):
                issues.append(Issue(at(body), f"expected the answers of {s_node.value!r} as "
                                    f"question: answer lines"))
                continue
            for q_node, a_node in body.value:
                add(s_node, q_node, a_node)
    else:
        issues.append(Issue(at(root), "expected a list of {student, question, answer} or a map "
                            "student: {question: answer}"))
    return answers, issues


def read_answers(text: str, file: str, key: dict[str, dict[int, dict]]) -> list[Answer]:
    """The answers of a CSV file (``.csv``, or a first line ``student,…``) or a YAML one,
    checked against the key; every malformed line is reported at once."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    is_csv = file.lower().endswith(".csv") or first.replace(" ", "").lower().startswith(
        "student,question")
    answers, issues = (read_csv if is_csv else read_yaml)(text, file)
    issues += answer_issues(answers, key)
    if issues:
        issues.sort(key=lambda i: (i.loc.line or 0, i.loc.col or 0))
        raise SpecError(issues)
    return answers


# --- grading -------------------------------------------------------------------------------

def answer_issues(answers: list[Answer], key: dict[str, dict[int, dict]]) -> list[Issue]:
    """Unknown students or questions, and a question answered twice, stop the grading."""
    issues, seen = [], {}
    for a in answers:
        if a.student not in key:
            from ..layers import closest

            near = closest(a.student, list(key))
            issues.append(Issue(a.who, f"student {a.student!r} is not in the key"
                                + (f"; did you mean {near!r}?" if near else ""),
                                hint="use the ids of the --students file"))
        elif a.number not in key[a.student]:
            issues.append(Issue(a.which, f"{a.student!r} has no question {a.number}; the sheet "
                                f"has 1 to {max(key[a.student])}"))
        elif (a.student, a.number) in seen:
            first = seen[(a.student, a.number)]
            issues.append(Issue(a.which, f"{a.student!r} answers question {a.number} twice "
                                f"(first at line {first.line})",
                                hint="keep one answer per question"))
        else:
            seen[(a.student, a.number)] = a.where
    return issues


def mark(student: str, number: int, q: dict, raw: Any) -> Mark:
    kind = Kind(q["kind"])
    given = "" if raw is None else (str(raw) if not isinstance(raw, list) else json.dumps(raw))
    base = dict(student=student, number=number, topic=q["topic"], given=given.strip(),
                right=q["answer_text"], formula=q["formula"])
    if not given.strip():
        return Mark(ok=False, note="blank", **base)
    value = read(kind, raw)
    if value is None:
        from .answers import FORMS

        return Mark(ok=False, note=f"could not read it as {FORMS[kind]['en']}", **base)
    if value == q["answer"]:
        return Mark(ok=True, **base)
    slip = next((s["slip"] for s in q["slips"] if s["answer"] == value), "")
    return Mark(ok=False, slip=slip, **base)


def grade(answers: list[Answer], key: dict[str, dict[int, dict]]) -> Grades:
    """Answers already read by :func:`read_answers` (so every one is in the key)."""
    by = {(a.student, a.number): a.raw for a in answers}
    students = list(dict.fromkeys(a.student for a in answers))
    marks, scores = [], []
    for s in students:
        got = [mark(s, n, q, by.get((s, n))) for n, q in sorted(key[s].items())]
        marks += got
        scores.append(Score(s, sum(m.ok for m in got), len(got)))
    absent = tuple(s for s in key if s not in students)
    return Grades(tuple(marks), tuple(scores), absent)


def gradebook_csv(grades: Grades) -> str:
    """One row per student: id, score, out of, then 1/0 per question."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    most = max((s.total for s in grades.scores), default=0)
    w.writerow(["student", "score", "total"] + [f"q{i}" for i in range(1, most + 1)])
    for s in grades.scores:
        row = [int(m.ok) for m in grades.marks if m.student == s.student]
        w.writerow([s.student, s.right, s.total] + row)
    return out.getvalue()


def grades_json(grades: Grades) -> dict[str, Any]:
    return {"scores": [{"student": s.student, "right": s.right, "total": s.total}
                       for s in grades.scores],
            "marks": [{"student": m.student, "question": m.number, "topic": m.topic,
                       "answer": m.given, "ok": m.ok, "right": m.right, "formula": m.formula,
                       "slip": m.slip, "note": m.note} for m in grades.marks],
            "absent": list(grades.absent)}
