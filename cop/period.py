"""Reporting months ("periods", written YYYY-MM) and their due dates."""
from __future__ import annotations

import datetime as dt
import re

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class PeriodError(ValueError):
    pass


def parse_period(text: str | dt.date) -> dt.date:
    """'2025-03' (or any date in March 2025) -> date(2025, 3, 1). Raises PeriodError with a plain message."""
    if isinstance(text, dt.date):
        return text.replace(day=1)
    match = _PERIOD.match(str(text).strip())
    if not match:
        raise PeriodError(f"'{text}' is not a month written as YYYY-MM (for example 2025-03)")
    return dt.date(int(match.group(1)), int(match.group(2)), 1)


def format_period(month: dt.date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


def add_months(month: dt.date, count: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


def month_end(month: dt.date) -> dt.date:
    return add_months(month, 1) - dt.timedelta(days=1)


def months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """Every month from first to last inclusive."""
    months, current = [], first.replace(day=1)
    while current <= last:
        months.append(current)
        current = add_months(current, 1)
    return months


FISCAL_YEAR_FIRST_MONTH = 7  # Pakistan's fiscal year runs from July to June


def fiscal_year_start(month: dt.date) -> dt.date:
    """The first month of the fiscal year that holds `month` (2026-03 -> 2025-07)."""
    year = month.year if month.month >= FISCAL_YEAR_FIRST_MONTH else month.year - 1
    return dt.date(year, FISCAL_YEAR_FIRST_MONTH, 1)


def due_date(month: dt.date, due_day: int) -> dt.date:
    """A return for `month` is due on `due_day` of the following month (end of that day)."""
    return add_months(month, 1).replace(day=due_day)


def last_completed_month(today: dt.date | None = None) -> dt.date:
    today = today or dt.date.today()
    return add_months(today.replace(day=1), -1)
