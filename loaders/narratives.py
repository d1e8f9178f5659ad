"""The rules of the form's free-text fields (achievement, challenge, success story).

A narrative is stored exactly as the province wrote it (the reader only trims the ends of a cell); here it
is held to its length limit, refused when it carries a character the reader could not keep (a control
character, shown as U+FFFD), and flagged when it looks like it carries personal data of a victim: a CNIC
number or a phone number (a warning: the province checks, the file is accepted).
"""
from __future__ import annotations

import re
import unicodedata
from typing import Callable, Iterable

import pandas as pd

from cop.spec import Narrative
from loaders.problems import Problem, problem

UNREADABLE = "\ufffd"
# Matched on the text with its digits in ASCII: Urdu text often carries Eastern Arabic-Indic digits.
# CNIC: 5 digits, 7 digits, 1 digit, with or without the dashes.
CNIC = re.compile(r"(?<!\d)\d{5}-?\d{7}-?\d(?!\d)")
# A Pakistani mobile (03XX-XXXXXXX, +92 3XX XXXXXXX) or landline with area code (0XX-XXXXXXX).
PHONE = re.compile(r"(?<!\d)(?:\+92[\s-]?|0092[\s-]?|0)\d{2,3}[\s-]?\d{7}(?!\d)")


def personal_data_kind(text: str) -> str | None:
    """'a CNIC number' or 'a phone number' when the text looks like it holds one, else None."""
    text = "".join(str(unicodedata.digit(c)) if c.isdigit() else c for c in text)
    if CNIC.search(text):
        return "a CNIC number"
    if PHONE.search(text):
        return "a phone number"
    return None


def narrative_problems(frame: pd.DataFrame, narratives: Iterable[Narrative],
                       describe_cell: Callable[[int, str], dict]) -> list[Problem]:
    problems = []
    for narrative in narratives:
        if narrative.name not in frame:
            continue
        for row, text in frame[narrative.name].dropna().items():
            found = _problem(narrative, text, describe_cell(row, narrative.name))
            if found:
                problems.append(found)
    return problems


def _problem(narrative: Narrative, text: str, cell: dict) -> Problem | None:
    header = cell["column"]
    if len(text) > narrative.max_length:
        return problem("E046", f"'{header}' has {len(text):,} characters; at most {narrative.max_length:,} are "
                               f"accepted", **cell)
    if UNREADABLE in text:
        return problem("E047", f"'{header}' holds a control character or a character that could not be read "
                               f"(shown as {UNREADABLE})", **cell)
    kind = personal_data_kind(text)
    if kind:
        return problem("W310", f"'{header}' looks like it holds {kind}", **cell)
    return None
