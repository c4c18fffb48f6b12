"""Sheets and the answer key as self-contained HTML pages, for A4 paper.

Print styles: ``@page { size: A4 }``, each student's sheet starts a new page, and no question
is split across pages (``break-inside: avoid``).  ``lang`` is ``en`` or ``zh``; the Chinese
uses the notes' own terms (卷积层, 过滤器, 步长, 填充, 池化层, 感受野, 偏置, 全连接层, 边缘检测).
The output depends only on its arguments: the same sheets give byte-identical pages.
"""

from __future__ import annotations

from html import escape

from .answers import FORMS, Kind
from .answers import text as answer_text
from .generate import Sheet
from .topics import TITLES, Question

LANGS = ("en", "zh")

WORDS = {
    "en": {"title": "CNN exercises", "student": "Student", "name": "Name", "score": "Score",
           "answer": "Answer", "answer_of": "Answer ({}):", "key": "Answer key",
           "question": "Q", "topic": "Topic",
           "formula": "Worked formula", "level": "level", "seed": "seed",
           "levels": {"easy": "easy", "medium": "medium", "hard": "hard"},
           "rules": "Sizes are written W×H×D (width × height × depth), as in the notes. When "
                    "(N − F + 2P)/S is not a whole number, round it down (PyTorch floors it). "
                    "Parameters count weights and biases; MACs count multiply-accumulates, "
                    "not the bias adds."},
    "zh": {"title": "卷积神经网络练习", "student": "学号", "name": "姓名", "score": "得分",
           "answer": "答案", "answer_of": "答案（{}）：", "key": "答案", "question": "题号",
           "topic": "题目",
           "formula": "计算过程", "level": "难度", "seed": "种子",
           "levels": {"easy": "简单", "medium": "中等", "hard": "难"},
           "rules": "尺寸按笔记的写法 W×H×D（宽×高×深度）。若 (N − F + 2P)/S 不是整数，"
                    "向下取整（PyTorch 的做法）。参数数量包括权重和偏置；MACs 是乘加次数，"
                    "不含偏置加法。"},
}

FONTS = ('"DejaVu Sans", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", '
         '"Microsoft YaHei", sans-serif')

STYLE = f"""
@page {{ size: A4; margin: 16mm 15mm; }}
* {{ box-sizing: border-box; }}
body {{ font-family: {FONTS}; font-size: 10.5pt; line-height: 1.45; color: #111;
       max-width: 180mm; margin: 0 auto; padding: 4mm; }}
h1 {{ font-size: 15pt; margin: 0 0 2mm; }}
.sheet {{ break-after: page; page-break-after: always; }}
.sheet:last-child {{ break-after: auto; page-break-after: auto; }}
.head {{ display: flex; flex-wrap: wrap; gap: 2mm 8mm; margin-bottom: 2mm; }}
.head span {{ white-space: nowrap; }}
.line {{ display: inline-block; width: 40mm; border-bottom: 1px solid #555; }}
.rules {{ font-size: 9.5pt; color: #333; border-left: 3px solid #999; padding-left: 3mm;
          margin: 2mm 0 5mm; }}
.q {{ break-inside: avoid; page-break-inside: avoid; margin: 0 0 5mm; }}
.q h2 {{ font-size: 10.5pt; margin: 0 0 1mm; }}
.q p {{ margin: 0 0 2mm; }}
.mats {{ display: flex; flex-wrap: wrap; gap: 6mm; margin: 0 0 2mm; }}
.mat {{ display: flex; align-items: center; gap: 2mm; }}
table.m {{ border-collapse: collapse; }}
table.m td {{ border: 1px solid #888; min-width: 7mm; padding: 0.5mm 1mm; text-align: center;
             font-variant-numeric: tabular-nums; }}
.box {{ border: 1px solid #777; min-height: 11mm; padding: 1mm 2mm; color: #777;
        font-size: 8.5pt; }}
.box.tall {{ min-height: 26mm; }}
table.key {{ border-collapse: collapse; width: 100%; margin-bottom: 6mm; table-layout: fixed; }}
table.key th, table.key td {{ border: 1px solid #aaa; padding: 1mm 2mm; text-align: left;
                             vertical-align: top; }}
table.key tr {{ break-inside: avoid; page-break-inside: avoid; }}
table.key td.f {{ font-size: 8.5pt; overflow-wrap: anywhere; }}
table.key td.a {{ font-weight: bold; overflow-wrap: anywhere; }}
table.key td.a table.m td {{ min-width: 0; font-weight: normal; }}
"""


def page(title: str, lang: str, body: str) -> str:
    html_lang = "zh-CN" if lang == "zh" else "en"
    return (f'<!DOCTYPE html>\n<html lang="{html_lang}">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
            f"{body}</body>\n</html>\n")


def matrix_html(label: str, rows: list) -> str:
    cells = "".join("<tr>" + "".join(f"<td>{v}</td>" for v in row) + "</tr>" for row in rows)
    return f'<div class="mat"><b>{escape(label)} =</b><table class="m">{cells}</table></div>'


def question_html(number: int, q: Question, lang: str) -> str:
    w = WORDS[lang]
    title = TITLES[q.topic][0 if lang == "en" else 1]
    mats = ""
    if q.matrices:
        mats = '<div class="mats">' + "".join(matrix_html(a, m) for a, m in q.matrices) + "</div>"
    tall = " tall" if q.matrices else ""
    return (f'<section class="q" id="q{number}">\n<h2>{number}. {escape(title)}</h2>\n'
            f"<p>{escape(q.text[lang])}</p>\n{mats}"
            f'<div class="box{tall}">{w["answer_of"].format(escape(FORMS[q.kind][lang]))}'
            f"</div>\n"
            f"</section>\n")


def answer_html(q: Question) -> str:
    if q.kind is Kind.MATRIX:
        cells = "".join("<tr>" + "".join(f"<td>{v}</td>" for v in row) + "</tr>"
                        for row in q.answer)
        return f'<table class="m">{cells}</table>'
    return escape(answer_text(q.kind, q.answer))


def sheet_html(sheet: Sheet, lang: str, seed: int, level: str) -> str:
    w = WORDS[lang]
    head = (f'<div class="head"><span>{w["student"]}: <b>{escape(sheet.student)}</b></span>'
            f'<span>{w["name"]}: <span class="line"></span></span>'
            f'<span>{w["score"]}: <span class="line" style="width:20mm"></span> / '
            f"{len(sheet.questions)}</span>"
            f'<span>{w["level"]}: {w["levels"][level]} · {w["seed"]}: {seed}</span></div>\n')
    body = "".join(question_html(i + 1, q, lang) for i, q in enumerate(sheet.questions))
    return (f'<div class="sheet" data-student="{escape(sheet.student)}">\n'
            f'<h1>{w["title"]}</h1>\n{head}<p class="rules">{w["rules"]}</p>\n{body}</div>\n')


def sheets_page(sheets: list[Sheet], lang: str, seed: int, level: str) -> str:
    """Every sheet in one document, a page break between students."""
    title = WORDS[lang]["title"] + (f" — {sheets[0].student}" if len(sheets) == 1 else "")
    return page(title, lang, "".join(sheet_html(s, lang, seed, level) for s in sheets))


def key_page(sheets: list[Sheet], lang: str, seed: int, level: str) -> str:
    """The teacher's key: each question's answer and its worked formula."""
    w = WORDS[lang]
    parts = []
    for s in sheets:
        rows = "".join(
            f"<tr><td>{i + 1}</td><td>{escape(TITLES[q.topic][0 if lang == 'en' else 1])}</td>"
            f'<td class="a">{answer_html(q)}</td>'
            f'<td class="f">{escape(q.formula)}</td></tr>'
            for i, q in enumerate(s.questions))
        parts.append(f'<div class="sheet" data-student="{escape(s.student)}">\n'
                     f'<h1>{w["key"]}: {escape(s.student)}</h1>\n'
                     f'<p class="rules">{w["level"]}: {w["levels"][level]} · {w["seed"]}: '
                     f"{seed}</p>\n"
                     f'<table class="key"><colgroup><col style="width:9%"><col style="width:'
                     f'19%"><col style="width:24%"><col></colgroup><tr><th>{w["question"]}</th>'
                     f'<th>{w["topic"]}</th><th>{w["answer"]}</th><th>{w["formula"]}</th></tr>'
                     f"{rows}</table>\n"
                     f"</div>\n")
    return page(f'{w["title"]} — {w["key"]}', lang, "".join(parts))


def safe_name(student: str) -> str:
    """A student id as a file name: letters and digits (any script), '.', '-' and '_' kept,
    others '_'."""
    name = "".join(c if c.isalnum() or c in "._-" else "_" for c in student)
    return name.strip(".") or "_"


def documents(out: str, sheets: list[Sheet], lang: str, seed: int, level: str,
              key: dict) -> list[tuple[str, str]]:
    """``(path, text)`` of every file ``--out`` makes.

    ``out`` ending in ``.html``: one document with every sheet, a page break between students,
    and the key beside it (``NAME.key.html``, ``NAME.key.json``).  Otherwise ``out`` is a
    folder: ``sheet-ID.html`` per student, ``key.html`` and ``key.json``.
    """
    import json
    import os

    key_text = json.dumps(key, ensure_ascii=False, indent=1) + "\n"
    if out.lower().endswith((".html", ".htm")):
        stem = out.rsplit(".", 1)[0]
        return [(out, sheets_page(sheets, lang, seed, level)),
                (f"{stem}.key.html", key_page(sheets, lang, seed, level)),
                (f"{stem}.key.json", key_text)]
    files, seen = [], {}
    for s in sheets:
        name = f"sheet-{safe_name(s.student)}.html"
        if name in seen:
            from ..errors import UsageError

            raise UsageError(f"students {seen[name]!r} and {s.student!r} both make {name}; "
                             f"give ids that differ in letters or digits", param="students")
        seen[name] = s.student
        files.append((os.path.join(out, name), sheets_page([s], lang, seed, level)))
    return files + [(os.path.join(out, "key.html"), key_page(sheets, lang, seed, level)),
                    (os.path.join(out, "key.json"), key_text)]
