"""End to end through real Airflow (`dag.test()`), real intake, real dbt, on the embedded PostgreSQL:
generated returns dropped in the provinces' inboxes -> cop_monthly_returns -> cop_warehouse_build."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from hub import airflow_local
from hub import inbox
from hub import run_review
from hub.generate import generate_returns, read_manifest
from cop.registry import load_registry

pytestmark = pytest.mark.slow

PERIOD = "2025-04"   # with 1 year ending 2025-12, Sindh's file of this month has blocking errors (then a fix)


@pytest.fixture(scope="module")
def cycle(database_url, cop_home, tmp_path_factory):
    samples = tmp_path_factory.mktemp("samples")
    generate_returns(samples, years=1, seed=7)
    broken = [e for e in read_manifest(samples) if e.period == PERIOD and e.expected_status == "rejected"]
    assert [e.province for e in broken] == ["SD"], "the generator's plan changed: pick another month"
    inbox.drop_generated(samples, {PERIOD})
    badly_named = samples / "punjab april.csv"
    badly_named.write_text("not looked at")
    inbox.drop_file(badly_named, "PB")
    monthly = airflow_local.dag_test("cop_monthly_returns")
    warehouse = airflow_local.dag_test("cop_warehouse_build")
    # This run's own summary: other modules of the session run the same DAG in the same COP_HOME.
    summary = json.loads((run_review.run_dir("cop_monthly_returns", monthly["run_id"]) / "summary.json").read_text())
    return {"monthly": monthly, "warehouse": warehouse, "summary": summary, "home": cop_home}


def test_monthly_run_succeeds_with_one_task_per_province(cycle):
    monthly = cycle["monthly"]
    assert monthly["state"] == "success", monthly
    provinces = load_registry().province_codes
    intakes = {k: v for k, v in monthly["tasks"].items() if k.startswith("intake[")}
    assert len(intakes) == len(provinces)
    assert all(t["state"] == "success" for t in intakes.values())
    names = sorted(t["rendered_map_index"] for t in intakes.values())
    assert any(name.startswith("SD: ") and "1 rejected" in name for name in names), names
    assert monthly["tasks"]["announce_raw_changes"]["state"] == "success", "raw changed: the asset is updated"


def test_summary_lists_every_province_and_the_rejected_file_with_its_problems(cycle):
    summary = cycle["summary"]
    assert [p["province"] for p in summary["provinces"]] == load_registry().province_codes
    by_province = {p["province"]: p for p in summary["provinces"]}
    sindh = {f["file_name"]: f for f in by_province["SD"]["files"]}
    rejected = sindh[f"SD_{PERIOD}.csv"]
    assert rejected["verdict"] == "rejected"
    assert rejected["error_count"] > 0 and rejected["errors"][0]["message"]
    assert (cycle["home"] / rejected["report"]).is_file(), "the validation report is linked"
    assert sindh[f"SD_{PERIOD}_fixed.csv"]["verdict"] == "accepted"
    refused = by_province["PB"]["files"]
    assert any(f["verdict"] == "refused" and "does not follow" in f["note"] for f in refused)
    assert (cycle["home"] / "inbox" / "PB" / "refused" / "punjab april.csv.reason.txt").is_file()
    accepted = [f for p in summary["provinces"] for f in p["files"] if f["verdict"] == "accepted"]
    assert {f["province"] for f in accepted} >= {"PB", "SD", "KP", "IC", "AJ"}
    for province in load_registry().province_codes:
        assert inbox.pending_files(province) == [], f"{province}: every file was decided and moved"
    markdown = (run_review.run_dir("cop_monthly_returns", cycle["monthly"]["run_id"]) / "summary.md").read_text()
    for province in load_registry().provinces:
        assert f"## {province.province_code} - {province.province_name}" in markdown


def test_warehouse_build_populates_the_marts(cycle, conn):
    warehouse = cycle["warehouse"]
    assert warehouse["tasks"]["dbt_build"]["state"] == "success", warehouse
    assert warehouse["tasks"]["dbt_docs"]["state"] == "success", warehouse
    # One month only: no complete year to rank, which the rankings task reports as skipped.
    assert warehouse["tasks"]["refresh_rankings"]["state"] in ("success", "skipped"), warehouse
    # The bulletin waits for a month whose returns are final everywhere (skipped, with the reason, until then).
    assert warehouse["tasks"]["monthly_bulletin"]["state"] in ("success", "skipped"), warehouse
    rows = conn.execute("select province_code, count(*) from marts.rpt_reporting_completeness "
                        "where month = %s group by 1", (f"{PERIOD}-01",)).fetchall()
    assert {province for province, _ in rows} >= {"PB", "SD", "KP", "IC", "AJ"}
    facts = conn.execute("select count(*) from marts.fct_unit_month where month = %s", (f"{PERIOD}-01",)).fetchone()
    assert facts[0] > 1000
