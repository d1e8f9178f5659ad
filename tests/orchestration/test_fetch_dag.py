"""The monthly DAG pulling from the provinces' own servers, through real Airflow (`dag.test()`): Khyber
Pakhtunkhwa over SFTP, Sindh over HTTP(S), the other five from their drop folders. One run takes all
seven, a second takes nothing, and files replaced upstream become version 2."""
from __future__ import annotations

import datetime as dt
import os

import psycopg
import pytest
import yaml

from hub import airflow_local
from hub import inbox
from hub import run_review
from hub.localsftp import LocalSftpServer
from cop.registry import load_registry

from .conftest import PUBLISHED_AT, SAMPLE_PERIOD, LocalWebServer, publish, re_export

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("fetch")]
DROP_FOLDER_PROVINCES = ("PB", "BA", "IC", "GB", "AJ")
REPLACED_AT = dt.datetime(2025, 4, 9, 8, 0, tzinfo=dt.timezone.utc)


def summary_of(run: dict) -> dict:
    summary = run_review.read_run_summary("cop_monthly_returns", run["run_id"])
    return {p["province"]: p for p in summary.to_dict()["provinces"]}


@pytest.fixture(scope="module")
def pulled(fresh_database, month_samples, tmp_path_factory):
    root = tmp_path_factory.mktemp("province-servers")
    sources = root / "sources.yaml"
    sources.write_text(yaml.safe_dump({"provinces": {
        "KP": {"kind": "sftp", "connection": "cop_kp_sftp", "folder": "/outgoing", "files": "KP_{period}*.csv"},
        "SD": {"kind": "https", "connection": "cop_sd_https", "url": "/returns/SD_{period}.csv"}}}))
    with fresh_database("fetchdag") as url, LocalSftpServer(root / "sftp") as sftp, \
            LocalWebServer(root / "web") as web:
        saved = dict(os.environ)
        os.environ.update(COP_SOURCES_FILE=str(sources), AIRFLOW_CONN_COP_KP_SFTP=sftp.connection_uri(),
                          AIRFLOW_CONN_COP_SD_HTTPS=web.connection())
        try:
            kp = publish(month_samples["KP"], sftp.root / "outgoing")
            sd = publish(month_samples["SD"], root / "web" / "returns")
            for code in DROP_FOLDER_PROVINCES:
                inbox.drop_file(month_samples[code], code, received_at=PUBLISHED_AT)
            conf = {"periods": [SAMPLE_PERIOD]}
            first = airflow_local.dag_test("cop_monthly_returns", conf)
            second = airflow_local.dag_test("cop_monthly_returns", conf)
            re_export(kp, "KP", REPLACED_AT)
            re_export(sd, "SD", REPLACED_AT)
            third = airflow_local.dag_test("cop_monthly_returns", conf)
        finally:
            os.environ.clear()
            os.environ.update(saved)
        with psycopg.connect(url) as conn:
            submissions = conn.execute(
                "select province_code, version, status, channel from raw.submissions "
                "where period = %s order by province_code, version", (f"{SAMPLE_PERIOD}-01",)).fetchall()
    return {"runs": [first, second, third], "summaries": [summary_of(r) for r in (first, second, third)],
            "submissions": submissions}


def test_one_run_pulls_validates_and_loads_all_seven(pulled):
    first, summary = pulled["runs"][0], pulled["summaries"][0]
    assert first["state"] == "success", first
    for code in load_registry().province_codes:
        assert [(f["verdict"], f["version"]) for f in summary[code]["files"]] == [("accepted", 1)], code
    assert summary["KP"]["fetch"]["state"] == "fetched" and summary["SD"]["fetch"]["state"] == "fetched"
    assert summary["PB"]["fetch"] is None, "a drop-folder province has no fetch entry"
    channels = {code: channel for code, version, _, channel in pulled["submissions"] if version == 1}
    assert channels == {"KP": "sftp", "SD": "https", **{code: "inbox" for code in DROP_FOLDER_PROVINCES}}
    names = [t["rendered_map_index"] for k, t in first["tasks"].items() if k.startswith("intake[")]
    assert "KP: 1 accepted; fetched" in names and "SD: 1 accepted; fetched" in names


def test_a_second_run_takes_nothing(pulled):
    second, summary = pulled["runs"][1], pulled["summaries"][1]
    assert second["state"] == "success", second
    assert all(not province["files"] for province in summary.values())
    assert summary["KP"]["fetch"]["state"] == "nothing new" and summary["SD"]["fetch"]["state"] == "nothing new"
    assert second["tasks"]["announce_raw_changes"]["state"] == "skipped", "raw unchanged: no warehouse build"


def test_files_replaced_upstream_become_version_2(pulled):
    third, summary = pulled["runs"][2], pulled["summaries"][2]
    assert third["state"] == "success", third
    for code in ("KP", "SD"):
        assert [(f["verdict"], f["version"]) for f in summary[code]["files"]] == [("accepted", 2)], code
    assert ("KP", 2, "accepted", "sftp") in pulled["submissions"]
    assert ("SD", 2, "accepted", "https") in pulled["submissions"]
    assert all(not summary[code]["files"] for code in DROP_FOLDER_PROVINCES)
