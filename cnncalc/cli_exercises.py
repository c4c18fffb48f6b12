"""Class worksheets: ``exercises`` and ``grade`` (:mod:`cnncalc.cli` registers them)."""

from __future__ import annotations

import os

import click

from .cli_common import console, guarded, output_path, write_output, read_text
from .errors import UsageError


@click.command("exercises")
@click.option("--topics", default="all", show_default=True,
              help="Comma-separated topics, in order (cnncalc exercises --list names them).")
@click.option("--count", type=click.IntRange(1, 200), default=None,
              help="Questions per sheet (default: one per topic).")
@click.option("--level", type=click.Choice(["easy", "medium", "hard"]), default="medium",
              show_default=True)
@click.option("--seed", type=int, default=0, show_default=True,
              help="With the student id, fixes every number: the same seed gives the same sheets.")
@click.option("--students", "students_file", metavar="FILE",
              help="One student id a line: one sheet each, with its own numbers.")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True)
@click.option("--out", "-o", "out", metavar="DIR|FILE.html",
              help="A folder (a sheet per student, key.html, key.json) or FILE.html (all "
                   "sheets in one document, FILE.key.html, FILE.key.json).")
@click.option("--list", "list_topics", is_flag=True, help="List the topics and exit.")
@click.option("--force", is_flag=True, help="Overwrite existing files.")
@guarded
def exercises_cmd(topics, count, level, seed, students_file, lang, out, list_topics, force):
    """Printable worksheets for a class: different numbers for every student, an answer key
    (HTML and JSON) with each answer's worked formula.  Grade the answers with cnncalc grade."""
    import os

    from .exercises.generate import key_json, make_sheets, parse_topics, read_students
    from .exercises.sheet import documents
    from .exercises.topics import TITLES

    if list_topics:
        for name, (en, zh) in TITLES.items():
            click.echo(f"{name:16} {en} / {zh}")
        return
    if out is None:
        raise UsageError("say where to write the sheets: --out DIR or --out FILE.html",
                         param="out")
    chosen = parse_topics(topics)
    students = read_students(read_text(students_file), students_file) if students_file \
        else ["1"]
    sheets = make_sheets(seed, students, chosen, count, level)
    files = documents(out, sheets, lang, seed, level, key_json(sheets, seed, level, chosen))
    paths = [output_path(path, force) for path, _ in files]
    if not out.lower().endswith((".html", ".htm")):
        os.makedirs(out, exist_ok=True)
    for path, (_, text) in zip(paths, files):
        write_output(path, text)
    click.echo(f"wrote {len(sheets)} sheet{'s' if len(sheets) != 1 else ''} of "
               f"{len(sheets[0].questions)} questions and the key: "
               + ", ".join(p for p, _ in (files if len(files) <= 3 else files[-2:])), err=True)


@click.command("grade")
@click.argument("answers_file", metavar="ANSWERS")
@click.option("--key", "key_file", required=True, metavar="KEY",
              help="The key.json that cnncalc exercises wrote.")
@click.option("--csv", "csv_out", metavar="FILE",
              help="Write a grade book: one row per student, a column per question.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="Output format.")
@click.option("--force", is_flag=True, help="Overwrite the --csv file.")
@guarded
def grade_cmd(answers_file, key_file, csv_out, fmt, force):
    """Grade a class's answers (CSV: student,question,answer; or YAML) against the key:
    right or wrong, the worked formula, the likely slip, a score per student.  Exit 0 when
    everything was graded, 2 on a malformed line (FILE:LINE:COL)."""
    import json

    from .exercises.grade import grade, grades_json, gradebook_csv, read_answers, read_key

    path = output_path(csv_out, force) if csv_out is not None else None
    key = read_key(read_text(key_file), key_file)
    grades = grade(read_answers(read_text(answers_file), answers_file, key), key)
    if path is not None:
        write_output(path, gradebook_csv(grades))
    if fmt == "json":
        click.echo(json.dumps(grades_json(grades), ensure_ascii=False))
    else:
        from .render.grade import grade_view

        console().print(grade_view(grades))
