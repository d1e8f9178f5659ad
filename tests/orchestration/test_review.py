"""The run summary the reviewers read: every province, plain words, safe HTML, links to reports."""
from __future__ import annotations

from cop import review
from cop.review import FileOutcome, ProblemLine, ProvinceSummary, RunSummary


def _summary() -> RunSummary:
    rejected = FileOutcome(
        file_name="SD_2025-04.csv", province="SD", period="2025-04", verdict="rejected",
        received_at="2025-05-09T10:00:00+00:00", submission_id=4, rows=425, error_count=12, warning_count=1,
        errors=[ProblemLine("error", "E301", "Homicide must be 0 or more. Fix the value.", row=5,
                            column="homicide", value="<script>-1</script>")],
        report="validation/4/report.html", problem_file="validation/4/problems.csv")
    accepted = FileOutcome(file_name="SD_2025-04_fixed.csv", province="SD", period="2025-04", verdict="accepted",
                           received_at="2025-05-11T10:00:00+00:00", submission_id=5, version=1, rows=425)
    return RunSummary("cop_monthly_returns", "manual__2025-05-12T00:00:00+00:00", [
        ProvinceSummary("SD", "Sindh", [rejected, accepted]),
        ProvinceSummary("KP", "Khyber Pakhtunkhwa", state="failed", error="OperationalError: server down",
                        waiting=["KP_2025-04.csv"]),
        ProvinceSummary("IC", "Islamabad Capital Territory"),
    ])


def test_headlines_in_plain_words():
    summary = _summary()
    assert [p.headline for p in summary.provinces] == [
        "SD: 1 accepted, 1 rejected", "KP: FAILED (OperationalError: server down)", "IC: no new file"]
    assert summary.headline == "2 files: 1 accepted, 1 rejected; FAILED: KP"
    assert summary.raw_changed and summary.failed_provinces == ["KP"]


def test_markdown_names_file_verdict_rows_problems_and_report():
    text = _summary().markdown()
    assert "SD_2025-04.csv (2025-04): rejected, nothing loaded; 425 rows; 12 blocking problems, 1 warnings" in text
    assert "row 5, column 'homicide'" in text and "... and 11 more blocking problems" in text
    assert "`validation/4/report.html`" in text
    assert "still waiting in the inbox: KP_2025-04.csv" in text
    assert "IC: no new file" in text


def test_html_escapes_what_provinces_wrote_and_links_reports():
    html = review.render_html(_summary(), link=lambda rel: "../../files/" + rel)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'href="../../files/validation/4/report.html"' in html


def test_written_summary_round_trips(cop_home):
    summary = _summary()
    path = review.write_run_summary(summary)
    assert path.read_text().startswith("# cop_monthly_returns")
    again = review.read_run_summary(summary.dag_id, summary.run_id)
    assert again.markdown() == summary.markdown()
    assert (path.parent / "summary.html").read_text().count("<h2>") == 3
