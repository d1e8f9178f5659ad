"""Adding a national indicator is an edit of spec/form.yaml plus `cop spec generate`, nothing else: on a
scratch copy of the repository, the command changes only the national GX suite and the wide fact's
contract, and the demo then runs end to end with the new indicator in the warehouse."""
from __future__ import annotations

import filecmp
import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from cop.paths import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("new_indicator")]

NEW_FIELD = ("  - {name: road_safety_sessions, group: partnership, type: count, unit: sessions, required: true,\n"
             "     max: 200, label: Road safety sessions, help: Road safety talks held with drivers and schools "
             "this month.}\n")
GENERATED = {"expectations/suites/cop_return_national.json", "dbt_project/models/marts/fct_unit_month.yml",
             "dbt_project/models/marts/semantic/_indicator_metrics.yml"}


def scratch_copy(target: Path) -> Path:
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True).stdout
    for name in filter(None, tracked.decode().split("\0")):
        source = REPO_ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            (target / name).write_bytes(source.read_bytes())
    return target


def add_field(spec: Path) -> None:
    """NEW_FIELD appended to the `fields:` list, before the next top-level key."""
    text = spec.read_text(encoding="utf-8")
    fields = text.index("\nfields:\n")
    end = re.compile(r"\n(?=[a-z_]+:)").search(text, fields + len("\nfields:\n")).start()
    spec.write_text(text[:end + 1] + NEW_FIELD + text[end + 1:], encoding="utf-8")


def changed_files(copy: Path) -> set[str]:
    names = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True).stdout
    return {name for name in filter(None, names.decode().split("\0"))
            if (REPO_ROOT / name).is_file() and not filecmp.cmp(REPO_ROOT / name, copy / name, shallow=False)}


def cop(copy: Path, home: Path, *arguments: str, timeout: int) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("COP_DATABASE_URL")}
    environment.update(PYTHONPATH=str(copy), COP_HOME=str(home))
    return subprocess.run([sys.executable, "-m", "hub.cli", *arguments], cwd=copy, env=environment,
                          capture_output=True, text=True, timeout=timeout)


def test_a_new_national_indicator_is_a_spec_edit_and_one_command(tmp_path):
    copy, home = scratch_copy(tmp_path / "repo"), tmp_path / "home"
    add_field(copy / "spec" / "form.yaml")

    generated = cop(copy, home, "spec", "generate", timeout=120)
    assert generated.returncode == 0, generated.stderr
    assert changed_files(copy) == {"spec/form.yaml"} | GENERATED
    assert cop(copy, home, "spec", "check", timeout=120).returncode == 0

    try:
        demo = cop(copy, home, "demo", timeout=2400)
        assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
        url = cop(copy, home, "db", "url", "--show-password", timeout=60).stdout.strip()
        with psycopg.connect(url) as conn:
            reported, total = conn.execute(
                "select count(road_safety_sessions), sum(road_safety_sessions) from marts.fct_unit_month").fetchone()
            long_fact = conn.execute("select count(*) from marts.fct_unit_month_indicator "
                                     "where indicator_code = 'road_safety_sessions'").fetchone()[0]
        assert reported > 0 and total > 0
        assert long_fact == reported
        assert (home / "reports").is_dir() and any((home / "reports").rglob("*.pdf")), "the demo wrote its report"
    finally:
        cop(copy, home, "db", "stop", timeout=120)
