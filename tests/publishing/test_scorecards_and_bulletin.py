"""Station scorecards and the monthly bulletin on a real warehouse (conftest.report_warehouse: IC, GB and AJ,
2024-2025): a pack per province with one page per station, figures that agree with the marts, the portal
serving a province only its own stations (its own pages refuse the others, and the database's row security
hides them even when the code asks), and a bulletin of two to four pages for the latest final month."""
from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from portal.accounts import add_user, sign_in as account_sign_in
from publishing.bulletin import final_month, write_bulletin
from publishing.rankings import refresh_rankings
from publishing.scorecards import pack_name, write_scorecards

sys.path.insert(0, str(Path(__file__).parents[1] / "portal"))
from portal_helpers import PASSWORD, client_for, sign_in  # noqa: E402

pytestmark = pytest.mark.slow
YEAR = 2025
PROVINCES = ["IC", "GB", "AJ"]   # the provinces with returns (the others' stations are expected, never reported)


def _pdf_text(path: Path, page: int | None = None) -> str:
    pages = ["-f", str(page), "-l", str(page)] if page else []
    return subprocess.run(["pdftotext", "-layout", *pages, str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def _pages(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


@pytest.fixture(scope="module")
def scorecards(report_warehouse):
    refresh_rankings(year=YEAR, draws=200)
    return {pack.province_code: pack for pack in write_scorecards(YEAR, PROVINCES)}


@pytest.fixture(scope="module")
def stations(report_warehouse, scorecards) -> dict[str, list[tuple]]:
    with psycopg.connect(report_warehouse) as conn:
        rows = conn.execute("select province_code, unit_code, unit_name, rank_label, is_ranked from marts.rpt_unit_rankings "
                            "where year = %s and province_code = any(%s) order by province_code, district_name, unit_code",
                            (YEAR, PROVINCES)).fetchall()
    found: dict[str, list[tuple]] = {}
    for province, *rest in rows:
        found.setdefault(province, []).append(tuple(rest))
    return found


def test_each_province_gets_a_pack_with_one_page_per_station(scorecards, stations):
    assert set(scorecards) == set(PROVINCES)
    for code, pack in scorecards.items():
        assert pack.pack.name == pack_name(YEAR, code)
        assert _pages(pack.pack) == pack.stations == len(stations[code])
        for unit_code, *_ in stations[code]:
            assert _pages(pack.pack.parent / f"{unit_code}.pdf") == 1
            assert (pack.pack.parent / f"{unit_code}.html").is_file()


def test_a_scorecard_shows_the_marts_figures(report_warehouse, scorecards, stations):
    unit_code, unit_name, rank_label, _ = next(s for s in stations["GB"] if s[3])
    text = _pdf_text(scorecards["GB"].pack.parent / f"{unit_code}.pdf")
    assert unit_name in text and unit_code in text and f"{rank_label} of" in text
    with psycopg.connect(report_warehouse) as conn:
        raw, median = conn.execute("""
            select s.raw_value, (select percentile_cont(0.5) within group (order by p.raw_value)
                                 from marts.rpt_unit_scores as p
                                 where p.year = s.year and p.peer_group = s.peer_group
                                   and p.indicator_code = s.indicator_code)
            from marts.rpt_unit_scores as s
            where s.year = %s and s.unit_code = %s and s.indicator_code = 'dispute_resolution_rate'""",
                                   (YEAR, unit_code)).fetchone()
    assert f"{raw * 100:.0f}% {median * 100:.0f}%" in " ".join(text.split())
    for words in ("Pillar scores against the peer group", "Data quality", "90% interval"):
        assert words in text


def test_a_station_with_an_integrity_flag_has_it_in_its_notes(report_warehouse, scorecards):
    with psycopg.connect(report_warehouse) as conn:
        flagged = conn.execute("select province_code, unit_code from marts.rpt_integrity_flags_unit_year "
                               "where year = %s order by unit_code limit 1", (YEAR,)).fetchone()
        # (only IC, GB and AJ report in the test warehouse: every flag and warning is theirs)
        warned = conn.execute("select province_code, unit_code, rule from marts.rpt_unit_month_warnings "
                              "where month >= %s order by unit_code limit 1", (dt.date(YEAR, 1, 1),)).fetchone()
        clean = conn.execute("""select province_code, unit_code from marts.rpt_unit_rankings as r where year = %s
            and not exists (select 1 from marts.rpt_integrity_flags_unit_year as f where f.unit_code = r.unit_code and f.year = r.year)
            and not exists (select 1 from marts.rpt_unit_month_warnings as w where w.unit_code = r.unit_code
                            and w.month >= make_date(r.year, 1, 1) and w.month < make_date(r.year + 1, 1, 1))
            and province_code = any(%s) order by unit_code limit 1""", (YEAR, PROVINCES)).fetchone()
    assert flagged or warned, "the test warehouse should raise at least one integrity flag or warning"
    for province, unit_code, *rest in filter(None, (flagged, warned)):
        notes = _pdf_text(scorecards[province].pack.parent / f"{unit_code}.pdf").split("Data quality")[1]
        assert "No recording-integrity flag" not in notes
        if rest:
            assert f"({rest[0]})" in notes
    province, unit_code = clean
    assert "No recording-integrity flag" in _pdf_text(scorecards[province].pack.parent / f"{unit_code}.pdf")


# ---------------------------------------------------------------- the portal


@pytest.fixture(scope="module")
def app(report_warehouse, scorecards):
    from portal.app import create_app

    for username, role, province in (("ic_desk", "province", "IC"), ("gb_desk", "province", "GB"),
                                     ("federal_desk", "federal", None)):
        add_user(username, PASSWORD, role, province, username)
    return create_app()


@pytest.fixture(scope="module")
def client(app):
    clients = {}
    for username in ("ic_desk", "gb_desk", "federal_desk"):
        clients[username] = client_for(app).__enter__()
        assert sign_in(clients[username], username).status_code == 303
    yield clients
    for each in clients.values():
        each.__exit__(None, None, None)


def test_a_province_user_downloads_its_own_scorecards(client, stations):
    ic = client["ic_desk"]
    page = ic.get("/provinces/IC/publications")
    assert page.status_code == 200
    assert all(unit_code in page.text for unit_code, *_ in stations["IC"])
    assert not any(unit_code in page.text for unit_code, *_ in stations["GB"])
    pack = ic.get(f"/provinces/IC/scorecards/{YEAR}/pack.pdf")
    assert pack.status_code == 200 and pack.headers["content-type"] == "application/pdf"
    assert pack.content.startswith(b"%PDF")
    unit_code = stations["IC"][0][0]
    assert ic.get(f"/provinces/IC/scorecards/{YEAR}/{unit_code}.pdf").content.startswith(b"%PDF")
    html = ic.get(f"/provinces/IC/scorecards/{YEAR}/{unit_code}.html")
    assert html.status_code == 200 and unit_code in html.text


def test_a_province_user_cannot_get_another_provinces_scorecards_by_any_url(client, stations):
    ic = client["ic_desk"]
    gb_unit = stations["GB"][0][0]
    for url in (f"/provinces/GB/publications", f"/provinces/GB/scorecards/{YEAR}/pack.pdf",
                f"/provinces/GB/scorecards/{YEAR}/{gb_unit}.pdf"):
        assert ic.get(url).status_code == 403, url
    for url in (f"/provinces/IC/scorecards/{YEAR}/{gb_unit}.pdf",        # another province's station under one's own
                f"/provinces/IC/scorecards/{YEAR}/{gb_unit}.html",
                f"/provinces/IC/scorecards/{YEAR}/..%2F..%2FGB%2F{gb_unit}.pdf",
                f"/provinces/IC/scorecards/{YEAR}/%2E%2E%2FGB%2F{pack_name(YEAR, 'GB')}",
                f"/provinces/IC/scorecards/{YEAR - 1}/pack.pdf"):
            response = ic.get(url)
            assert response.status_code in (400, 404) and b"%PDF" not in response.content, url
    assert client["federal_desk"].get(f"/provinces/GB/scorecards/{YEAR}/{gb_unit}.pdf").status_code == 200
    assert client["gb_desk"].get(f"/provinces/GB/scorecards/{YEAR}/{gb_unit}.pdf").status_code == 200


def test_the_database_itself_hides_other_provinces_stations_from_a_province_user(client, stations):
    from portal.publications import _stations

    gb_unit = stations["GB"][0][0]
    ic_session = account_sign_in("ic_desk", PASSWORD, "127.0.0.1").session
    federal_session = account_sign_in("federal_desk", PASSWORD, "127.0.0.1").session
    # asked for a GB station without any province filter: row-level security alone answers
    assert _stations(ic_session, YEAR, unit_code=gb_unit) == []
    assert {s.province_code for s in _stations(ic_session, YEAR)} == {"IC"}
    assert [s.unit_code for s in _stations(federal_session, YEAR, unit_code=gb_unit)] == [gb_unit]


# ---------------------------------------------------------------- the bulletin


@pytest.fixture(scope="module")
def bulletin(report_warehouse):
    return write_bulletin()


def test_the_bulletin_is_of_the_latest_final_month_in_two_to_four_pages(report_warehouse, bulletin):
    with psycopg.connect(report_warehouse) as conn:
        conn.execute("set search_path = marts")
        assert final_month(conn) == dt.date(2025, 12, 1)   # every month locked: the lock dates are long past
    pdf = bulletin["bulletin (PDF)"]
    assert pdf.name == "cop-bulletin-2025-12.pdf"
    assert 2 <= _pages(pdf) <= 4
    text = " ".join(_pdf_text(pdf).split())
    for words in ("December 2025", "Completeness and timeliness by province", "What moved, province by province",
                  "Data-quality flags of December 2025", "Key indicators over 13 months, December 2024 to December 2025",
                  "Islamabad Capital Territory", "Gilgit-Baltistan", "Azad Jammu & Kashmir"):
        assert words in text, words
    assert "PROVISIONAL" not in text and " pp, " in text


def test_a_bulletin_before_its_month_is_final_says_it_is_provisional(report_warehouse, tmp_path):
    with psycopg.connect(report_warehouse, autocommit=True) as conn:
        conn.execute("update marts.rpt_reporting_completeness set is_locked = false "
                     "where month = '2025-11-01' and province_code = 'GB'")
        try:
            conn.execute("set search_path = marts")
            assert final_month(conn) == dt.date(2025, 12, 1)
            written = write_bulletin(dt.date(2025, 11, 1), out_dir=tmp_path)
        finally:
            conn.execute("update marts.rpt_reporting_completeness set is_locked = true "
                         "where month = '2025-11-01' and province_code = 'GB'")
    text = " ".join(_pdf_text(written["bulletin (PDF)"]).split())
    assert "Provisional. 1 of 7 provinces' returns for November 2025 can still change" in text


def test_every_signed_in_user_downloads_the_bulletin(client, bulletin):
    for username in ("ic_desk", "gb_desk", "federal_desk"):
        response = client[username].get("/bulletins/cop-bulletin-2025-12.pdf")
        assert response.status_code == 200 and response.content.startswith(b"%PDF"), username
    assert "cop-bulletin-2025-12.pdf" in client["ic_desk"].get("/provinces/IC/publications").text
    assert client["ic_desk"].get("/bulletins/..%2Fscorecards%2F2025%2FGB%2Fpack.pdf").status_code == 404
    assert client_for(client["ic_desk"].app).get("/bulletins/cop-bulletin-2025-12.pdf").status_code in (303, 401)


def test_the_monthly_cycle_mails_a_new_bulletin_once_when_smtp_is_configured(report_warehouse, monkeypatch):
    import socketserver
    import threading

    from hub.orchestration import monthly_bulletin
    from publishing.bulletin import bulletin_dir

    sys.path.insert(0, str(Path(__file__).parents[1]))
    from orchestration.test_deadlines import _Mailbox

    for path in bulletin_dir().glob("cop-bulletin-2025-12.*"):
        path.unlink()
    with socketserver.TCPServer(("127.0.0.1", 0), _Mailbox) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        monkeypatch.setenv("COP_SMTP_URL", f"smtp://127.0.0.1:{server.server_address[1]}")
        monkeypatch.setenv("COP_MAIL_FROM", "cop-warehouse@example.org")
        monkeypatch.setenv("COP_REMINDER_TO", "focal@example.org")
        monkeypatch.setenv("COP_REMINDER_TO_GB", "gb-police@example.org")
        _Mailbox.received = []
        first, again = monthly_bulletin(), monthly_bulletin()
        server.shutdown()
    assert first["mailed"] and not again["mailed"], "a month's bulletin is mailed once, rewritten on every build"
    assert len(_Mailbox.received) == 1
    message = _Mailbox.received[0]
    assert "Subject: COP monthly bulletin 2025-12" in message
    assert "To: focal@example.org, gb-police@example.org" in message
    assert 'filename="cop-bulletin-2025-12.pdf"' in message and "application/pdf" in message
