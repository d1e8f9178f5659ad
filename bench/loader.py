"""Loader throughput: the same rows into the same raw tables three ways.

- the project's load path (loaders.load.load_rows: COPY of the unit rows and the long values, one
  transaction per submission), timed alone: the files are read and validated beforehand;
- `psql \\copy` of the same rows from CSV files (the practical limit: PostgreSQL's own bulk path);
- `pandas.DataFrame.to_sql(method="multi")` (what a typical script does).

Each runs `repeats` times into emptied tables of a scratch database; the median counts.
"""
from __future__ import annotations

import datetime as dt
import subprocess
import tempfile
from pathlib import Path

import pandas as pd
import psycopg

from bench.common import Samples, console, median, ratio, sqlalchemy_engine, stopwatch
from cop import db
from cop.period import parse_period
from cop.registry import load_registry
from cop.spec import form_for, load_amendment
from loaders.history import History
from loaders.load import load_rows
from loaders.reading import read_table
from loaders.validation import CheckedReturn, check_return

PROVINCE = "PB"
ROW_COLUMNS = "submission_id, source_row, province_code, district_code, unit_code, period"
VALUE_COLUMNS = "submission_id, unit_code, indicator_code, value"


def measure_loader(samples: Samples, months: int = 4, repeats: int = 3) -> dict:
    entries = samples.first_accepted(PROVINCE)[:months]
    console.print(f"loader: {len(entries)} {PROVINCE} returns, {repeats} runs of each method")
    batches = [(parse_period(e.period), _checked(samples.path(e).read_bytes(), parse_period(e.period)))
               for e in entries]
    with db.temporary_database("bench_loader") as url, psycopg.connect(url, autocommit=True) as conn:
        submission_ids = [_register(conn, month, index) for index, (month, _) in enumerate(batches, start=1)]
        project = [_project_load(conn, submission_ids, batches) for _ in range(repeats)]
        with tempfile.TemporaryDirectory(prefix="cop-bench-") as folder:
            rows_csv, values_csv = _export(conn, Path(folder))
            counts = _row_counts(conn)
            psql = [_checked_count(conn, counts, _psql_copy(conn, url, rows_csv, values_csv)) for _ in range(repeats)]
            pandas = [_checked_count(conn, counts, _pandas_to_sql(conn, url, rows_csv, values_csv))
                      for _ in range(repeats)]
    rows = sum(counts)
    figures = {name: {"seconds_median": round(median(runs), 3), "seconds_runs": [round(r, 3) for r in runs],
                      "rows_per_second": round(rows / median(runs))}
               for name, runs in (("project_copy", project), ("psql_copy", psql), ("pandas_to_sql_multi", pandas))}
    return {"province": PROVINCE, "files": len(batches), "unit_rows": counts[0], "value_rows": counts[1],
            "rows": rows, **figures,
            "project_vs_psql_copy": ratio(figures["project_copy"]["rows_per_second"],
                                          figures["psql_copy"]["rows_per_second"]),
            "project_vs_pandas": ratio(figures["project_copy"]["rows_per_second"],
                                       figures["pandas_to_sql_multi"]["rows_per_second"])}


def _checked(content: bytes, month: dt.date) -> CheckedReturn:
    amendment, form = load_amendment(PROVINCE), form_for(month)
    checked = check_return(read_table(content, amendment, form.limits), amendment, form, load_registry(), month,
                           History)
    errors = [p for p in checked.problems if p.is_error]
    assert not errors, f"a sample return meant to be accepted has errors: {errors[:3]}"
    return checked


def _register(conn: psycopg.Connection, month: dt.date, version: int) -> int:
    """A submission row for the loaded rows to belong to (raw.return_rows references it)."""
    return conn.execute(
        "insert into raw.submissions (province_code, period, version, status, received_at, submitted_by, channel, "
        "file_name, file_size, sha256, landed_path) values (%s, %s, %s, 'accepted', now(), 'bench', 'bench', "
        "'bench', 0, repeat('0', 64), 'bench') returning submission_id", (PROVINCE, month, version)).fetchone()[0]


def _empty(conn: psycopg.Connection) -> None:
    conn.execute("truncate raw.return_values, raw.return_rows")


def _row_counts(conn: psycopg.Connection) -> tuple[int, int]:
    return conn.execute("select (select count(*) from raw.return_rows), "
                        "(select count(*) from raw.return_values)").fetchone()


def _checked_count(conn: psycopg.Connection, expected: tuple[int, int], seconds: float) -> float:
    """The seconds of a run that loaded exactly the rows the project path loaded (else it compares nothing)."""
    loaded = _row_counts(conn)
    if loaded != expected:
        raise RuntimeError(f"a baseline loaded {loaded} (unit rows, values), the project path {expected}")
    return seconds


def _project_load(conn: psycopg.Connection, submission_ids: list[int], batches) -> float:
    _empty(conn)
    with stopwatch() as watch:
        for submission_id, (month, checked) in zip(submission_ids, batches):
            with conn.transaction():
                load_rows(conn, submission_id, checked, PROVINCE, month)
    return watch.seconds


def _export(conn: psycopg.Connection, folder: Path) -> tuple[Path, Path]:
    """The rows the project path loaded, as CSV files: the other two methods load exactly these."""
    files = []
    for table, columns in (("raw.return_rows", ROW_COLUMNS), ("raw.return_values", VALUE_COLUMNS)):
        path = folder / f"{table}.csv"
        with path.open("wb") as handle, conn.cursor().copy(
                f"copy (select {columns} from {table}) to stdout with (format csv, header)") as copy:
            for data in copy:
                handle.write(data)
        files.append(path)
    return files[0], files[1]


def _psql_copy(conn: psycopg.Connection, url: str, rows_csv: Path, values_csv: Path) -> float:
    _empty(conn)
    psql = str(db.POSTGRES_BIN_PATH / "psql")
    commands = [f"\\copy raw.return_rows ({ROW_COLUMNS}) from '{rows_csv}' with (format csv, header)",
                f"\\copy raw.return_values ({VALUE_COLUMNS}) from '{values_csv}' with (format csv, header)"]
    arguments = [psql, url, "-X", "-q", "-v", "ON_ERROR_STOP=1"] + [a for c in commands for a in ("-c", c)]
    with stopwatch() as watch:
        subprocess.run(arguments, check=True, capture_output=True)
    return watch.seconds


def _pandas_to_sql(conn: psycopg.Connection, url: str, rows_csv: Path, values_csv: Path) -> float:
    _empty(conn)
    rows = pd.read_csv(rows_csv, dtype={"source_row": "int64"}, parse_dates=["period"])
    values = pd.read_csv(values_csv)
    engine = sqlalchemy_engine(url)
    try:
        with stopwatch() as watch:
            for table, frame in (("return_rows", rows), ("return_values", values)):
                frame.to_sql(table, engine, schema="raw", if_exists="append", index=False, method="multi",
                             chunksize=1000)
    finally:
        engine.dispose()
    return watch.seconds
