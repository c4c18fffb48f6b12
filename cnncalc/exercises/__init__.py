"""Class worksheets: ``cnncalc exercises`` writes a different sheet for every student from the
notes' questions, and ``cnncalc grade`` grades the answers with the likely slip named.

* :mod:`.answers`  the four kinds of answer (a number, a W×H×D volume, a set of strides, a
  matrix): their canonical text, and reading what a student wrote
* :mod:`.topics`   one function per topic of the notes: numbers drawn from a ``random.Random``,
  the answer, its worked formula and the wrong answers each slip gives, all from the engine,
  the calculators and :mod:`cnncalc.numeric`
* :mod:`.generate` the sheets: one ``Random`` per student, seeded from sha256(seed, id), so a
  sheet is the same on every machine and every run
* :mod:`.sheet`    HTML sheets (A4 print styles, English or Chinese) and the answer key
* :mod:`.grade`    a YAML or CSV of answers against the key: right/wrong, formula, slip, score

The key (JSON) holds everything grading needs: each question's answer and its slips.
"""

from .generate import Sheet, make_sheets

__all__ = ["Sheet", "make_sheets"]
