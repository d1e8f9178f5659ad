"""Releases (publishing/release.py) on a real warehouse of their own: a release of 2025 and its report; then a
federal unlock, a revision of a 2025 month, a rebuild and a re-score, as the monthly DAGs would do. The
release's tables and the report's bytes stay as published, the current marts show the revision, the
revision is listed since the release, a BI reader sees both side by side, and nothing can overwrite it."""
from __future__ import annotations

import datetime as dt
import hashlib

import psycopg
import pytest

from conftest import land_generated_returns
from cop import db
from loaders import approval
from cop.build import build
from publishing.release import ReleaseError, create_release, revisions_since, table_checksums, write_release_report

from loaders.intake import submit_file
from loaders.sample import encode_return, sample_return
from portal.accounts import add_user
from publishing.rankings import refresh_rankings

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("release")]
REVISED = dt.date(2025, 6, 1)


@pytest.fixture(scope="module")
def warehouse(database_url):
    with db.temporary_database("release") as url:
        with psycopg.connect(url, autocommit=True) as conn:
            land_generated_returns(conn)
        add_user("reviewer", "correct horse battery", "federal", None, "Federal reviewer")
        yield url


def digests(files) -> dict[str, str]:
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in files.values()}


@pytest.fixture(scope="module")
def published(warehouse, tmp_path_factory):
    release = create_release(2025, "reviewer", note="annual report 2025", draws=300)
    files = write_release_report(release.label, tmp_path_factory.mktemp("published"))
    return release, files, digests(files), table_checksums(release.release_id)


@pytest.fixture(scope="module")
def revised(published):
    """IC June 2025, locked by date, unlocked by the federal desk and revised; then the monthly DAGs' work."""
    approval.unlock("IC", REVISED, "reviewer", "Islamabad corrected its June figures", days=2)
    content = encode_return(sample_return("IC", REVISED, seed=99), "IC")
    receipt = submit_file(content, "IC_2025-06_rev.csv", "IC", REVISED, "ic.clerk", channel="portal")
    assert receipt.status == "accepted", receipt.summary
    result = build()
    assert result.success, result.failure_report()
    refresh_rankings(year=2025, draws=300)
    return receipt


def test_a_release_freezes_the_year_and_its_report_carries_its_id_and_cut_off(published):
    release, files, _, tables = published
    assert release.label == "2025-r1" and release.year == 2025
    assert tables["fct_unit_month"][0] > 0 and tables["rpt_unit_rankings"][0] > 0 and tables["rpt_awards"][0] > 0
    html = files["annual report (HTML)"].read_text(encoding="utf-8")
    assert html.count(f"Release 2025-r1 (id {release.release_id}), figures as of {release.cut_off.astimezone(dt.timezone.utc):%Y-%m-%d %H:%M} UTC") >= 2
    ranking_rows = files["rankings (CSV)"].read_text(encoding="utf-8").splitlines()
    assert ranking_rows[0].endswith(",release,cut_off") and ranking_rows[1].split(",")[-2] == "2025-r1"
    with psycopg.connect(db.database_url()) as conn:
        frozen = conn.execute("select count(*), count(distinct province_code) from releases.submissions "
                              "where release_id = %s", (release.release_id,)).fetchone()
    assert frozen == (36, 3)


def test_a_revision_after_the_release_changes_the_current_figures_never_the_published_ones(published, revised,
                                                                                           tmp_path):
    release, _, published_digests, published_tables = published
    assert table_checksums(release.release_id) == published_tables
    again = write_release_report(release.label, tmp_path)  # raises when a file differs from the published one
    assert digests(again) == published_digests

    with psycopg.connect(db.database_url()) as conn:
        current = conn.execute("select latest_submission_id from marts.rpt_reporting_completeness "
                               "where province_code = 'IC' and month = %s", (REVISED,)).fetchone()[0]
        frozen = conn.execute("select latest_submission_id from releases.rpt_reporting_completeness "
                              "where release_id = %s and province_code = 'IC' and month = %s",
                              (release.release_id, REVISED)).fetchone()[0]
        cited = conn.execute("select count(*) from scores.unit_rankings where run_id = %s",
                             (release.scoring_run_id,)).fetchone()[0]
        latest_run = conn.execute("select max(run_id) from marts.rpt_unit_rankings").fetchone()[0]
    assert current == revised.submission_id and frozen != current
    assert cited > 0 and latest_run > release.scoring_run_id  # the re-score added a run; the cited one stays
    assert [(r.province_code, r.period, r.current_submission_id) for r in revisions_since(release.label)] == \
        [("IC", REVISED, revised.submission_id)]


def test_nothing_overwrites_a_published_release(published, revised):
    release = published[0]
    with psycopg.connect(db.database_url(), autocommit=True) as conn:
        for statement in ("update releases.fct_unit_month set population = 0",
                          "delete from releases.rpt_awards", "truncate releases.rpt_unit_rankings",
                          "update releases.releases set cut_off = now()"):
            with pytest.raises(psycopg.errors.RaiseException, match="a published release never changes"):
                conn.execute(statement)
    with pytest.raises(ReleaseError, match="no release '2025-r9'"):
        write_release_report("2025-r9")
    assert release.release_id


def test_bi_reader_sees_the_published_and_the_current_figures_side_by_side(published, revised):
    release = published[0]
    with psycopg.connect(db.role_url("bi_reader")) as conn:
        rows = conn.execute("""
            select c.province_code, c.units_reported as current_units, p.units_reported as published_units,
                   c.latest_submission_id as current_version, p.latest_submission_id as published_version
            from marts.rpt_reporting_completeness as c
            join releases.rpt_reporting_completeness as p using (province_code, month)
            join releases.releases as r on r.release_id = p.release_id
            where r.label = '2025-r1' and c.month = %s order by 1""", (REVISED,)).fetchall()
    assert len(rows) == 7 and {r[0] for r in rows if r[1]} == {"AJ", "GB", "IC"}  # every province, three report
    changed = [r for r in rows if r[3] != r[4]]
    assert [r[0] for r in changed] == ["IC"]
    with psycopg.connect(db.role_url("province_reader_ic")) as conn:
        seen = {r[0] for r in conn.execute("select distinct province_code from releases.fct_unit_month")}
    assert seen == {"IC"}
    assert release.release_id
