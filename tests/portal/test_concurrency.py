"""Many provinces uploading at once through the real portal (uvicorn, real HTTP): every upload is
recorded, none gets a 5xx, every verdict equals the verdict of the same file checked alone, and no
value of a rejected file, nor a wrong value of an accepted one, reaches the warehouse.

Before the verdict moved into a child process per file (loaders.sandbox), this load gave good files
rejections and let a file with homicide = -3 into the marts: GX's batch was shared between threads."""
from __future__ import annotations

import datetime as dt

import psycopg
import pytest
from psycopg import sql

from bench.portal_load import Upload, add_clerks, receipt_verdict, recorded_verdicts, running_portal, upload_all
from cop.build import build
from cop.period import add_months, format_period
from cop.registry import load_registry
from cop.spec import load_amendment, load_form
from loaders.intake import submit_file
from loaders.sample import encode_return, sample_return

NOW = dt.datetime(2026, 11, 5, 9, 0, tzinfo=dt.timezone.utc)
FIRST_MONTH = dt.date(2020, 1, 1)
# 13 months apart: no file's history (the 12 months before it, and the month before) holds another's month.
MONTH_STEP = 13
UPLOADS = 20

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def database(fresh_database):
    with fresh_database("concurrency") as url:
        yield url


def _records(province: str, month: dt.date, kind: str) -> list[dict]:
    records = sample_return(province, month, seed=hash(kind) % 1000, units=40)
    header = load_amendment(province).header_for
    if kind == "negative":
        records[3][header("homicide")] = -3
    elif kind == "part_over_whole":
        records[5][header("female_officers_posted")] = int(records[5][header("officers_posted")]) + 7
    return records


def _uploads() -> list[tuple[Upload, list[dict]]]:
    """20 files from all seven provinces: good ones, and ones a concurrency bug would let through."""
    kinds = ("good", "negative", "part_over_whole")
    chosen = []
    for step, kind in enumerate(kinds):
        month = add_months(FIRST_MONTH, step * MONTH_STEP)
        for province in load_registry().province_codes:
            records = _records(province, month, kind if (step + len(chosen)) % 2 else "good")
            upload = Upload(province, format_period(month), encode_return(records, province), f"{province}.csv")
            chosen.append((upload, records))
    return chosen[:UPLOADS]


def _values_in_file(province: str, records: list[dict]) -> set[tuple[str, str, float]]:
    form, amendment = load_form(), load_amendment(province)
    national = {f.name for f in form.fields}
    columns = [c for c in amendment.columns(form) if c.field in national]
    return {(record[amendment.header_for("unit_code")], c.field, float(record[c.header]))
            for record in records for c in columns if record.get(c.header) is not None}


def test_twenty_concurrent_uploads_get_the_verdicts_they_get_alone(database):
    uploads = _uploads()
    alone = {index: receipt_verdict(submit_file(upload.content, upload.file_name, upload.province, upload.period,
                                                "alone", received_at=NOW, dry_run=True))
             for index, (upload, _) in enumerate(uploads)}
    assert {verdict[0] for verdict in alone.values()} == {"accepted", "rejected"}

    add_clerks(load_registry().province_codes)
    with running_portal(clock=lambda: NOW) as base_url:
        results, _ = upload_all(base_url, [upload for upload, _ in uploads], concurrently=True)

    assert [r.http_status for r in results] == [303] * len(uploads), [(r.upload.province, r.http_status)
                                                                       for r in results]
    under_load = recorded_verdicts([r.submission_id for r in results])
    for index, result in enumerate(results):
        assert under_load[result.submission_id] == alone[index], f"{result.upload.province} {result.upload.period}"

    assert build(select="+fct_unit_month_indicator").success
    with psycopg.connect(database) as conn:
        assert conn.execute("select count(*) from raw.submissions").fetchone()[0] == len(uploads)
        for index, (result, (upload, records)) in enumerate(zip(results, uploads)):
            expected = _values_in_file(upload.province, records) if alone[index][0] == "accepted" else set()
            for table in ("raw.return_values", "marts.fct_unit_month_indicator"):
                assert _national_values(conn, table, result.submission_id) == expected, \
                    f"{upload.province} {upload.period}: wrong values in {table}"


def _national_values(conn, table: str, submission_id: int) -> set[tuple[str, str, float]]:
    query = sql.SQL("select t.unit_code, t.indicator_code, t.value::float8 from {} t "
                    "join raw.ref_indicators i using (indicator_code) "
                    "where t.submission_id = %s and i.province_code is null").format(
        sql.Identifier(*table.split(".")))
    return set(conn.execute(query, (submission_id,)).fetchall())
