"""Each month is judged by the form version in force for it (spec/form.yaml `versions`): a v1 month, also
when revised after v2 started; a v2 month with v2's columns; v2 columns never in a v1 month."""
from __future__ import annotations

import datetime as dt

import pytest

from cop.period import add_months
from cop.spec import form_for, load_amendment, load_form
from intake_files import submit
from loaders.sample import encode_return, sample_return

pytestmark = pytest.mark.xdist_group("intake_form_versions")  # one module, one worker: one database

V2 = load_form().versions[1]
LAST_V1_MONTH = add_months(V2.start, -1)
AFTER_V2_STARTED = dt.datetime(V2.start.year + 1, 6, 1, 9, 0, tzinfo=dt.timezone.utc)
V2_ONLY_REQUIRED = sorted({f.name for f in form_for(V2.start).fields if f.required}
                          - {f.name for f in form_for(LAST_V1_MONTH).fields})


def v2_fields_loaded(conn, submission_id) -> set[str]:
    rows = conn.execute("select distinct indicator_code from raw.return_values where submission_id = %s",
                        (submission_id,)).fetchall()
    return {code for (code,) in rows} & set(V2_ONLY_REQUIRED)


def test_the_boundary_is_configuration():
    assert form_for(LAST_V1_MONTH).version == 1 and form_for(V2.start).version == 2
    assert "cve_activities" in V2_ONLY_REQUIRED and "terrorism_deaths" in V2_ONLY_REQUIRED


def test_a_v1_month_revised_after_v2_started_is_judged_by_v1(conn):
    first = submit(encode_return(sample_return("IC", LAST_V1_MONTH, units=6), "IC"), "IC", LAST_V1_MONTH)
    revision = submit(encode_return(sample_return("IC", LAST_V1_MONTH, seed=1, units=6), "IC"), "IC",
                      LAST_V1_MONTH, received_at=AFTER_V2_STARTED)
    assert first.status == revision.status == "accepted", revision.summary
    assert revision.version == 2
    assert not any(p.field in V2_ONLY_REQUIRED for p in revision.errors + revision.warnings)
    assert v2_fields_loaded(conn, revision.submission_id) == set()  # "not collected": no value at all, never 0


def test_a_v1_month_with_a_v2_column_is_refused_naming_it(raw_snapshot):
    before = raw_snapshot()
    rows = [dict(r, cve_activities=3) for r in sample_return("IC", LAST_V1_MONTH, units=4)]
    receipt = submit(encode_return(rows, "IC"), "IC", LAST_V1_MONTH, received_at=AFTER_V2_STARTED)
    assert receipt.status == "rejected"
    [error] = receipt.errors
    assert (error.rule, error.column, error.field) == ("E011", "cve_activities", "cve_activities")
    assert f"not collected in form v1" in error.message and f"from {V2.start:%Y-%m}" in error.message
    assert raw_snapshot() == before


@pytest.mark.parametrize("province", ["IC", "SD"])
def test_a_v2_month_missing_a_v2_required_column_is_rejected_with_the_column_named(province, raw_snapshot):
    before = raw_snapshot()
    header = load_amendment(province).header_for("terrorism_deaths")
    rows = sample_return(province, V2.start, units=5)
    for row in rows:
        del row[header]
    receipt = submit(encode_return(rows, province), province, V2.start, received_at=AFTER_V2_STARTED)
    assert receipt.status == "rejected"
    [error] = receipt.errors
    assert (error.rule, error.column, error.field) == ("E010", header, "terrorism_deaths")
    assert f"'{header}' (terrorism_deaths) is missing" in error.message
    assert f"collected from {V2.start:%Y-%m}, form v2" in error.message
    assert raw_snapshot() == before


def test_a_v2_month_loads_the_v2_indicators_under_the_provinces_urdu_headers(conn):
    rows = sample_return("SD", V2.start, units=5)
    assert "انسداد انتہا پسندی سرگرمیاں" in rows[0]  # Sindh's Urdu header for cve_activities
    receipt = submit(encode_return(rows, "SD"), "SD", V2.start, received_at=AFTER_V2_STARTED)
    assert receipt.status == "accepted", receipt.summary
    assert v2_fields_loaded(conn, receipt.submission_id) == set(V2_ONLY_REQUIRED)


def test_an_omitted_optional_v2_field_is_left_out_of_the_provinces_template_and_file():
    columns = {c.field for c in load_amendment("KP").columns(form_for(V2.start))}
    assert "cve_activities" in columns and "social_media_feedback_received" not in columns
    assert not {c.field for c in load_amendment("KP").columns(form_for(LAST_V1_MONTH))} & set(V2_ONLY_REQUIRED)
