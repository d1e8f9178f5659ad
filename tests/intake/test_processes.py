"""The command line, a crash in the middle of a load, and two submissions of the same month at once.
These run `cop submit` in real subprocesses against the session's database."""
from __future__ import annotations

import json
import signal
import time

import pytest

from cop.registry import load_registry
from cop.spec import form_for, load_amendment
from intake_files import cop_subprocess, good_file
from loaders.intake import PAUSE_BEFORE_COMMIT_ENV
from loaders.sample import encode_return, sample_return

pytestmark = pytest.mark.xdist_group("intake_processes")  # one module, one worker: one database


def run(*args, **kwargs):
    process = cop_subprocess(*args, **kwargs)
    out, err = process.communicate(timeout=300)
    return process.returncode, out, err


def write(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


def test_cli_exit_codes_and_json_receipt(tmp_path, conn, fresh_month):
    period = f"{fresh_month:%Y-%m}"
    good = write(tmp_path, "ic.csv", good_file("IC", fresh_month))
    code, out, err = run("submit", good, "--province", "IC", "--period", period, "--json")
    assert code == 0, err
    receipt = json.loads(out)
    assert (receipt["status"], receipt["province"], receipt["period"], receipt["version"]) == \
        ("accepted", "IC", period, 1)
    assert receipt["errors"] == [] and receipt["rows"] == len(load_registry().units_open("IC", fresh_month))

    rows = sample_return("IC", fresh_month)
    rows[0]["homicide"] = "-1"
    bad = write(tmp_path, "bad.csv", encode_return(rows, "IC"))
    code, out, _ = run("submit", bad, "--province", "IC", "--period", period)
    assert code == 1 and out.startswith("rejected:")
    assert "  error E042 x1: " in out and "      row 2, column 'homicide': " in out  # grouped by rule

    assert run("submit", bad, "--province", "XX", "--period", period)[0] == 2
    assert run("submit", str(tmp_path / "nothing.csv"), "--province", "IC", "--period", period)[0] == 2
    assert run("submit", bad, "--province", "IC", "--period", "2025-13")[0] == 2

    code, out, _ = run("submissions", "--province", "IC", "--period", period)
    assert code == 0
    lines = [line.split("\t") for line in out.splitlines()[1:]]
    assert [(line[3], line[4]) for line in lines] == [("v1*", "accepted"), ("v2", "rejected")]


def test_kill_9_in_the_middle_of_a_load_leaves_nothing_and_a_retry_gives_one_version(tmp_path, conn, fresh_month):
    period = f"{fresh_month:%Y-%m}"
    path = write(tmp_path, "pb.xlsx", good_file("PB", fresh_month))  # ~700 units, ~29,000 values
    process = cop_subprocess("submit", path, "--province", "PB", "--period", period,
                             env_extra={PAUSE_BEFORE_COMMIT_ENV: "120"})
    try:
        _wait_for_rows_in_an_open_transaction(process)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    _wait_until_the_server_has_rolled_back(conn)
    assert conn.execute("select count(*) from raw.submissions where province_code = 'PB' and period = %s",
                        (fresh_month,)).fetchone()[0] == 0

    code, out, err = run("submit", path, "--province", "PB", "--period", period, "--json")
    assert code == 0, err
    receipt = json.loads(out)
    versions = conn.execute(
        "select s.submission_id, s.version, s.status, s.row_count, count(r.unit_code) from raw.submissions s "
        "left join raw.return_rows r using (submission_id) where s.province_code = 'PB' and s.period = %s "
        "group by 1, 2, 3, 4", (fresh_month,)).fetchall()
    assert versions == [(receipt["submission_id"], 1, "accepted", receipt["rows"], receipt["rows"])]
    assert receipt["rows"] > 650


def _wait_for_rows_in_an_open_transaction(process):
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if "pausing" in line:
            return
        if process.poll() is not None:
            pytest.fail(f"cop submit ended early: {process.stdout.read()} {process.stderr.read()}")
    pytest.fail("cop submit never reached the commit")


def _wait_until_the_server_has_rolled_back(conn):
    for _ in range(100):
        busy = conn.execute("select count(*) from pg_stat_activity where state like 'idle in transaction%' "
                            "and datname = current_database()").fetchone()[0]
        if not busy:
            return
        time.sleep(0.1)
    pytest.fail("the killed submission's transaction is still open")


def test_two_concurrent_submissions_of_one_month_give_two_ordered_versions(tmp_path, conn, fresh_month):
    period = f"{fresh_month:%Y-%m}"
    files = [write(tmp_path, f"sd{seed}.csv", good_file("SD", fresh_month, seed=seed)) for seed in (1, 2)]
    processes = [cop_subprocess("submit", path, "--province", "SD", "--period", period, "--json") for path in files]
    receipts = []
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        receipts.append(json.loads(out))
    assert sorted(r["version"] for r in receipts) == [1, 2]
    stored = conn.execute("select submission_id, version, sha256 from raw.submissions where province_code = 'SD' "
                          "and period = %s order by version", (fresh_month,)).fetchall()
    assert [row[1] for row in stored] == [1, 2]
    # Version order is commit order, and each version holds exactly its own file's rows.
    assert stored[0][0] < stored[1][0]
    for receipt in receipts:
        sums = conn.execute("select count(*), sum(value) from raw.return_values where submission_id = %s",
                            (receipt["submission_id"],)).fetchone()
        own = sample_return("SD", fresh_month, seed=1 if receipt["sha256"] == _sha(files[0]) else 2)
        texts = {load_amendment("SD").header_for(n.name) for n in form_for(fresh_month).narratives}
        assert sums[0] == receipt["rows"] * (len(own[0]) - 4 - len(texts & set(own[0])))  # a value per figure
        assert float(sums[1]) == pytest.approx(sum(float(v) for r in own for k, v in list(r.items())[4:]
                                                   if v is not None))


def _sha(path):
    import hashlib

    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()
