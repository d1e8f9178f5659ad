"""The annual report's "from the field" (form v2): only stories the federal desk marked publishable, printed
exactly and inert (markup escaped, right-to-left text isolated) in the HTML and the PDF; harm and recovery
figures for the v2 year, "not collected" for the v1 year before it."""
from __future__ import annotations

import hashlib
import subprocess

import psycopg
import pytest

from publishing.annual import write_annual_report
from publishing.rankings import refresh_rankings

pytestmark = pytest.mark.slow

MARKUP = "<script>alert(1)</script><b>Dolphin</b> & =HYPERLINK(\"http://x\") patrols caught 3 snatchers."
URDU = "\u202eاصلاحی کمیٹی نے گیارہ سال پرانا تنازعہ حل کرایا\u202c اور دونوں خاندانوں نے معاہدہ کیا۔"
WITHHELD = "Secret: not for publication, the desk said no."
UNDECIDED = "Nobody has decided on this one yet."
STORIES = [("IC", "2025-06", "success_story", MARKUP, True), ("AJ", "2025-09", "achievement", URDU, True),
           ("IC", "2025-07", "challenge", WITHHELD, False), ("GB", "2025-05", "achievement", UNDECIDED, None)]


@pytest.fixture(scope="module")
def report_with_stories(report_warehouse, tmp_path_factory):
    from cop.build import build

    with psycopg.connect(report_warehouse, autocommit=True) as conn:
        for province, period, kind, text, publishable in STORIES:
            submission_id, unit = conn.execute(
                "select s.submission_id, min(r.unit_code) from raw.submissions s join raw.return_rows r "
                "using (submission_id) where s.province_code = %s and s.period = %s::date "
                "and s.status = 'accepted' group by 1", (province, f"{period}-01")).fetchone()
            conn.execute("insert into raw.return_narratives (submission_id, unit_code, narrative_code, text) "
                         "values (%s, %s, %s, %s)", (submission_id, unit, kind, text))
            if publishable is not None:
                conn.execute("insert into review.story_decisions (unit_code, period, narrative_code, text_sha256, "
                             "publishable, actor) values (%s, %s::date, %s, %s, %s, 'reviewer')",
                             (unit, f"{period}-01", kind, hashlib.sha256(text.encode()).hexdigest(), publishable))
    result = build(select="fct_unit_month_narrative")
    assert result.success, result.failure_report()
    refresh_rankings(year=2025, draws=100)
    return write_annual_report(year=2025, out_dir=tmp_path_factory.mktemp("field-report"))


def test_from_the_field_shows_publishable_stories_only_escaped(report_with_stories):
    html = report_with_stories["annual report (HTML)"].read_text(encoding="utf-8")
    field = html.split('id="from-the-field"')[1].split("</section>")[0]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;b&gt;Dolphin&lt;/b&gt; &amp; =HYPERLINK(" in field
    assert "<script>" not in html and "<b>Dolphin" not in html
    assert f'dir="rtl" lang="ur"><bdi>{URDU}</bdi>' in field
    assert WITHHELD not in html and UNDECIDED not in html


def test_the_pdf_carries_the_stories_and_harm_figures(report_with_stories):
    text = subprocess.run(["pdftotext", "-layout", str(report_with_stories["annual report (PDF)"]), "-"],
                          check=True, capture_output=True, text=True).stdout
    assert "From the field" in text and "Safety: harm and recovery" in text
    assert "<script>alert(1)</script><b>Dolphin</b>" in " ".join(text.split())
    assert WITHHELD not in text and UNDECIDED not in text
    harm = text.rsplit("Safety: harm and recovery", 1)[1].split("From the field")[0]  # the page, not the contents
    killed = next(line for line in harm.splitlines() if "People killed in terrorism" in line)
    assert "not collected" in killed and any(c.isdigit() for c in killed.split("not collected")[1])
