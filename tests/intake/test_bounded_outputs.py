"""A file where every cell is wrong: every problem is counted, but only a bounded number per rule is kept
in detail (audit.problems, problem files, report, the receipt), and the receipt says what was cut."""
from __future__ import annotations

import datetime as dt
import os

import pytest

from cop.spec import form_for, load_amendment, load_form
from intake_files import submit
from loaders.intake import DRY_RUN_PREFIX, clean_check_outputs
from loaders.sample import encode_return, sample_return

pytestmark = pytest.mark.xdist_group("intake_bounded")

PROVINCE = "PB"  # ~700 units: the largest province


def every_cell_wrong(month: dt.date) -> tuple[bytes, int]:
    """Every value cell of a Punjab return is text: one 'not a number' error per cell (narratives are text)."""
    form, amendment = form_for(month), load_amendment(PROVINCE)
    value_headers = {c.header for c in amendment.columns(form) if c.field not in
                     ("province_code", "district_code", "unit_code", "period", *form.narrative_names)}
    rows = sample_return(PROVINCE, month)
    for row in rows:
        row.update({header: "n/a" for header in row if header in value_headers})
    return encode_return(rows, PROVINCE, file_format="csv"), len(rows) * len(value_headers)


@pytest.mark.parametrize("dry_run", [False, True], ids=["submitted", "check-only"])
def test_every_problem_counted_and_the_details_bounded(conn, fresh_month, dry_run):
    content, cells = every_cell_wrong(fresh_month)
    per_rule = load_form().outputs.max_stored_problems_per_rule
    receipt = submit(content, PROVINCE, fresh_month, dry_run=dry_run)

    assert receipt.status == "rejected"
    not_a_number = next(c for c in receipt.counts if c.rule == "E041")
    assert not_a_number.total == cells > 10 * per_rule
    assert not_a_number.stored == per_rule and not_a_number.cut == cells - per_rule
    assert receipt.error_count == sum(c.total for c in receipt.counts if c.severity == "error") >= cells
    assert len(receipt.errors) <= per_rule * len(receipt.counts)
    assert f"{receipt.error_count} errors" in receipt.summary

    outputs = sum(path.stat().st_size for path in receipt.folder.iterdir())
    assert outputs < 2_000_000, f"{outputs} bytes of outputs"
    csv_lines = receipt.problems_csv.read_text(encoding="utf-8-sig").count("\n")
    assert csv_lines == 1 + sum(c.stored for c in receipt.counts)
    report = receipt.report_html.read_text(encoding="utf-8")
    assert f"{not_a_number.cut} more not listed" in report

    if not dry_run:
        stored = dict(conn.execute("select rule, count(*) from audit.problems where submission_id = %s "
                                   "group by rule", (receipt.submission_id,)).fetchall())
        counted = {rule: (total, kept) for rule, total, kept in conn.execute(
            "select rule, total, stored from audit.problem_counts where submission_id = %s",
            (receipt.submission_id,))}
        assert stored == {rule: kept for rule, (_, kept) in counted.items()}
        assert counted["E041"] == (cells, per_rule)
        assert conn.execute("select error_count from raw.submissions where submission_id = %s",
                            (receipt.submission_id,)).fetchone()[0] == receipt.error_count


def test_check_only_outputs_are_deleted_after_the_retention_period(fresh_month):
    content, _ = every_cell_wrong(fresh_month)
    old = submit(content, PROVINCE, fresh_month, dry_run=True).folder
    recent = submit(content, PROVINCE, fresh_month, dry_run=True).folder
    assert old.name.startswith(DRY_RUN_PREFIX)
    days = load_form().outputs.check_retention_days
    long_ago = (dt.datetime.now() - dt.timedelta(days=days + 1)).timestamp()
    os.utime(old, (long_ago, long_ago))

    assert clean_check_outputs() >= 1
    assert not old.exists() and recent.is_dir()
