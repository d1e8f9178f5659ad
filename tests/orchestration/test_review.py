"""The run summary the reviewers read: one line per province, problems first, each with its next step;
blocking errors apart from warnings; the version that stays current; on time or late; Pakistan time;
the attempts of a retried task kept; safe HTML with links to the reports."""
from __future__ import annotations

import re

from hub import run_review
from hub.run_review import FileOutcome, ProblemLine, ProvinceSummary, RunSummary

RUN = "manual__2025-05-12T00:00:00+00:00"


def _file(province: str, name: str, verdict: str, received: str, **extra) -> FileOutcome:
    return FileOutcome(file_name=name, province=province, period="2025-04", verdict=verdict, received_at=received,
                       due_on="2025-05-10", **extra)


def _summary() -> RunSummary:
    kp_rejected = _file("KP", "KP_2025-04_rev1.csv", "rejected", "2025-05-09T05:00:00+00:00", submission_id=9,
                        rows=433, error_count=12, warning_count=3, current_version=1,
                        errors=[ProblemLine("error", "E301", "Homicide must be 0 or more. Fix the value.", row=5,
                                            column="homicide", value="<script>-1</script>")],
                        warnings=[ProblemLine("warning", "W101", "Street crime is 5 times last month's.", row=7)],
                        report="validation/9/report.html", problem_file="validation/9/problems.csv")
    sd_late = _file("SD", "SD_2025-04.csv", "accepted", "2025-05-13T10:00:00+00:00", submission_id=5, version=1,
                    rows=425, warning_count=1, current_version=1,
                    warnings=[ProblemLine("warning", "W101", "Meetings doubled since last month.", row=3)])
    aj_rejected = _file("AJ", "AJ_2025-04.csv", "rejected", "2025-05-02T05:00:00+00:00", error_count=1)
    aj_fixed = _file("AJ", "AJ_2025-04_fixed.csv", "accepted", "2025-05-03T05:00:00+00:00", version=1, rows=60)
    gb_refused = FileOutcome(file_name="gilgit april.csv", province="GB", period=None, verdict="refused",
                             received_at="2025-05-08T05:00:00+00:00",
                             note="the file name 'gilgit april.csv' does not follow <PROVINCE>_<YYYY-MM>; rename it "
                                  "and drop it again")
    return RunSummary("cop_monthly_returns", RUN, [
        ProvinceSummary("PB", "Punjab", [_file("PB", "PB_2025-04.xlsx", "accepted", "2025-05-09T05:00:00+00:00",
                                               version=1, rows=702, warning_count=7)]),
        ProvinceSummary("SD", "Sindh", [sd_late]),
        ProvinceSummary("KP", "Khyber Pakhtunkhwa", [kp_rejected]),
        ProvinceSummary("BA", "Balochistan", state="failed", error="OperationalError: server down",
                        waiting=["BA_2025-04.csv"], will_retry=True,
                        attempts=[{"try": 1, "started_at": "2025-05-12T13:00:00+00:00",
                                   "ended_at": "2025-05-12T13:00:05+00:00", "state": "failed",
                                   "error": "OperationalError: server down"}]),
        ProvinceSummary("IC", "Islamabad Capital Territory"),
        ProvinceSummary("GB", "Gilgit-Baltistan", [gb_refused]),
        ProvinceSummary("AJ", "Azad Jammu and Kashmir", [aj_rejected, aj_fixed]),
    ])


def test_provinces_problems_first_each_with_its_next_step():
    summary = _summary()
    assert [(p.province, p.status) for p in summary.by_urgency()] == [
        ("KP", "rejected"), ("GB", "refused"), ("BA", "failed"), ("SD", "late"), ("PB", "accepted"),
        ("AJ", "accepted"), ("IC", "no file")]
    assert summary.status_line() == "7 provinces: 1 rejected, 1 refused, 1 failed, 1 late, 2 accepted, 1 no file"
    steps = {p.province: p.next_step() for p in summary.provinces}
    assert steps["KP"] == ("Ask Khyber Pakhtunkhwa to fix the 12 blocking problems of KP_2025-04_rev1.csv and send "
                           "it again; version 1 of 2025-04 stays current.")
    assert "rename it and drop it again" in steps["GB"]
    assert "server down" in steps["BA"] and "retries it by itself" in steps["BA"]
    assert steps["SD"].startswith("Loaded, 3 days after the due date")
    assert steps["PB"] == "Nothing to do (7 warnings to glance at)."
    assert steps["AJ"] == "Nothing to do."


def test_plain_words_with_plurals_pakistan_time_and_timeliness():
    summary = _summary()
    sindh = summary.provinces[1]
    assert sindh.files[0].timeliness() == "received 13 May 2025 15:00 PKT, due 10 May 2025: 3 days late"
    assert summary.provinces[0].files[0].timeliness().endswith("due 10 May 2025: on time")
    assert summary.provinces[6].what_happened() == "2025-04 version 1 accepted (0 warnings); " \
                                                   "after 1 rejected file earlier in the run"
    text = summary.markdown()
    assert "1 warning;" in text and "1 warnings" not in text and "1 files" not in text
    assert "version 1 of 2025-04 stays current" in text
    assert "UTC" not in text and "+00:00)" not in text.split("\n", 1)[1]
    assert summary.headline == "6 files: 3 accepted, 2 rejected, 1 refused; FAILED: BA"


def test_html_overview_first_blocking_errors_apart_from_warnings():
    html = run_review.render_html(_summary(), link=lambda rel: "../../files/" + rel)
    overview = html[html.index('class="overview"'):html.index("</table>")]
    assert [row for row in re.findall(r'href="#(\w\w)"', overview)] == ["KP", "GB", "BA", "SD", "PB", "AJ", "IC"]
    kp = html[html.index('id="KP"'):html.index('id="GB"')]
    blocking, warnings = kp.index('class="blocking"'), kp.index('class="warnings"')
    assert "Homicide must be 0" in kp[blocking:warnings] and "Street crime" in kp[warnings:]
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'href="../../files/validation/9/report.html"' in html
    assert "Times in Pakistan time (PKT)" in html


def test_attempts_are_kept_across_retries_and_reruns(cop_home):
    run = "manual__attempts"
    run_review.record_province_state("cop_monthly_returns", run, "BA", "running", 3, try_number=1)
    run_review.record_province_state("cop_monthly_returns", run, "BA", "failed", 3, "OperationalError: down",
                                 will_retry=True)
    failed = run_review.province_summary("cop_monthly_returns", run, "BA", "Balochistan")
    assert failed.status == "failed" and failed.will_retry
    run_review.record_province_state("cop_monthly_returns", run, "BA", "running", 3, try_number=2)
    run_review.record_province_state("cop_monthly_returns", run, "BA", "done", 3)
    done = run_review.province_summary("cop_monthly_returns", run, "BA", "Balochistan")
    assert [(a["try"], a["state"], a["error"]) for a in done.attempts] == [
        (1, "failed", "OperationalError: down"), (2, "done", None)]
    live = run_review.live_run_summary("cop_monthly_returns", run)
    assert [p.province for p in live.provinces] == ["BA"], "live before the run's summary is written"
    assert "attempt 1: failed" in live.markdown()


def test_written_summary_round_trips(cop_home):
    summary = _summary()
    path = run_review.write_run_summary(summary)
    assert path.read_text().startswith("# cop_monthly_returns")
    again = run_review.read_run_summary(summary.dag_id, summary.run_id)
    assert again.markdown() == summary.markdown()
    assert (path.parent / "summary.html").read_text().count("<h2 ") == 7


def test_the_build_review_says_what_was_built_tested_and_skipped_and_why(cop_home):
    from cop.build import BuildResult

    result = BuildResult(success=False, command=["build"], seconds=41.6, nodes=[
        {"type": "model", "status": "success", "name": "fct_unit_month", "message": "INSERT 0 60893"},
        {"type": "snapshot", "status": "success", "name": "snp_units", "message": ""},
        {"type": "test", "status": "pass", "name": "not_null_fct_unit_month_unit_code", "message": ""},
        {"type": "test", "status": "fail", "name": "assert_wide_fact_equals_long_fact", "message": "Got 3 results"},
        {"type": "model", "status": "skipped", "name": "rpt_unit_scores", "message": ""},
    ])
    step = run_review.build_step(result)
    assert step.state == "failed"
    assert step.summary == ("FAILED in 42 s: built 1 model, 1 snapshot; 1 test passed, 0 warned, 1 failed; "
                            "1 node skipped")
    assert "failed: assert_wide_fact_equals_long_fact: Got 3 results" in step.details
    assert "skipped: rpt_unit_scores (a node it depends on failed)" in step.details
    run_review.record_step("cop_warehouse_build", "manual__b", step)
    run_review.record_step("cop_warehouse_build", "manual__b", run_review.StepOutcome(
        "rankings", "skipped", "not refreshed: no complete calendar year in the warehouse yet"))
    steps = run_review.recorded_steps("cop_warehouse_build", "manual__b")
    html = run_review.render_steps_html("cop_warehouse_build", "manual__b", steps)
    assert [s.step for s in steps] == ["dbt build", "rankings"]
    assert "no complete calendar year" in html and "rpt_unit_scores" in html


def test_a_rejection_fixed_later_in_the_run_says_so():
    html = run_review.render_html(_summary(), link=lambda rel: rel)
    aj = html[html.index('id="AJ"'):html.index('id="IC"')]
    assert "fixed by a later file of this run" in aj and "nothing is loaded" not in aj
