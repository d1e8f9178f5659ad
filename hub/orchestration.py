"""What the Airflow tasks of dags/ call: one function per task, so that a DAG file only wires them.

Nothing here imports Airflow; the same functions run from the command line or a test.
"""
from __future__ import annotations

import logging

from cop import sources
from cop.registry import load_registry
from hub import inbox
from hub import run_review

log = logging.getLogger(__name__)

# The Airflow Asset the monthly cycle updates when raw data changed, and the warehouse build waits on.
RAW_RETURNS_ASSET = "cop_raw_returns"
MONTHLY_DAG_ID = "cop_monthly_returns"


class ProvinceTasksFailed(RuntimeError):
    """At least one province's intake task failed; the run summary says which and why."""


def selected_provinces(selected: list[str] | None = None) -> list[str]:
    """The provinces a run handles, in registry order: all of them, or those `selected` (UnknownProvince
    for a code that is not one)."""
    registry = load_registry()
    chosen = {registry.province(code).province_code for code in selected or registry.province_codes}
    return [code for code in registry.province_codes if code in chosen]


def intake_province(province: str, dag_id: str, run_id: str, map_index: int | None = None,
                    periods: list[str] | None = None, run_date=None, try_number: int | None = None,
                    last_try: bool = True) -> dict:
    """Fetch the province's new files from its source (when it is remote), then land, validate and load
    them and every new file of its drop folder; the summary as a plain dict (XCom).

    A source that could not be read fails the task after the drop folder was handled, with the failure's
    own message; hub.dag_defaults retries it only when retrying can help (fetch.SourceUnavailable)."""
    from hub import fetch

    inbox.ensure_inboxes([province])
    fetched = None
    source = sources.source_for(province)
    if source.remote:
        try:
            fetched = fetch.fetch_province(source, periods or fetch_periods(source, run_date), dag_id, run_id)
        except Exception as exc:
            run_review.record_province_state(dag_id, run_id, province, "failed", map_index,
                                         f"{type(exc).__name__}: {exc}", try_number, will_retry=not last_try)
            raise
        log.info("%s: %s", province, fetched.sentence())
    summary = inbox.process_inbox(province, dag_id, run_id, map_index, try_number, last_try)
    log.info("%s\n%s", summary.headline, "\n".join(run_review.province_markdown(summary)))
    if fetched is not None and not fetched.reachable:
        run_review.record_province_state(dag_id, run_id, province, "failed", map_index, fetched.message, try_number,
                                     will_retry=not last_try)
        failure = fetch.SourceUnavailable if fetched.retry_helps else fetch.RetryCannotHelp
        raise failure(fetched.failure_kind, fetched.message)
    return {"province": province, "headline": summary.headline + (f"; {fetched.state}" if fetched else ""),
            "accepted": summary.count("accepted"), "rejected": summary.count("rejected"),
            "files": len(summary.files)}


def fetch_periods(source, run_date=None) -> list[str]:
    """The months whose schedule window is open on the run's day (in Pakistan)."""
    from hub.deadlines import parse_as_of
    from cop.spec import load_amendment

    return source.periods_open(parse_as_of(None, run_date), load_amendment(source.province).due_day)


def monthly_run_summary(dag_id: str, run_id: str, provinces: list[str]) -> run_review.RunSummary:
    """The run as recorded by its province tasks (also the ones that failed or never ran)."""
    from hub import fetch

    registry = load_registry()
    summary = run_review.RunSummary(dag_id, run_id, [
        run_review.province_summary(dag_id, run_id, code, registry.province(code).province_name) for code in provinces])
    for province in summary.provinces:
        province.waiting = [item.path.name for item in inbox.pending_files(province.province)]
        province.fetch = fetch.recorded_fetch(dag_id, run_id, province.province)
    run_review.write_run_summary(summary)
    return summary


def summarise_monthly_run(dag_id: str, run_id: str, provinces: list[str]) -> dict:
    """Write the run summary, print it, and fail when a province's task failed (so the run shows red)."""
    summary = monthly_run_summary(dag_id, run_id, provinces)
    log.info("run summary (%s):\n%s", run_review.run_dir(dag_id, run_id) / "summary.html", summary.markdown())
    if summary.failed_provinces:
        raise ProvinceTasksFailed(f"intake failed for {', '.join(summary.failed_provinces)}: {summary.headline}")
    return {"headline": summary.headline, "accepted": summary.count("accepted"),
            "rejected": summary.count("rejected"), "summary": str(run_review.run_dir(dag_id, run_id) / "summary.md")}


def accepted_in_run(dag_id: str, run_id: str, provinces: list[str]) -> list[dict]:
    """The accepted files of the run (what changed in raw), for the Asset event."""
    accepted = []
    for code in provinces:
        for outcome in run_review.recorded_files(dag_id, run_id, code):
            if outcome.verdict == "accepted":
                accepted.append({"province": code, "period": outcome.period, "version": outcome.version,
                                 "submission_id": outcome.submission_id})
    return accepted


def build_warehouse(full_refresh: bool = False, dag_id: str | None = None, run_id: str | None = None) -> dict:
    """dbt build (staging -> intermediate -> marts, with every test); raises BuildError on any failure.
    With a run's ids, what it built, tested and skipped goes to the run's review page."""
    from cop.build import BuildError, build

    result = build(full_refresh=full_refresh, quiet=True)
    log.info(result.summary())
    for warning in result.warnings[:20]:
        log.warning(warning)
    if dag_id and run_id:
        run_review.record_step(dag_id, run_id, run_review.build_step(result))
    if not result.success:
        raise BuildError(result.failure_report())
    return {"summary": result.summary(), "statuses": result.statuses, "seconds": round(result.seconds, 1)}


def generate_warehouse_docs(dag_id: str | None = None, run_id: str | None = None) -> str:
    from cop.build import generate_docs

    path = str(generate_docs())
    if dag_id and run_id:
        run_review.record_step(dag_id, run_id, run_review.StepOutcome("dbt docs", "ok", f"written: {run_review.home_relative(path)}"))
    return path


def refresh_rankings(dag_id: str | None = None, run_id: str | None = None) -> dict:
    """Scores and rankings of the latest complete year (publishing.rankings). {"skipped": reason} while
    the warehouse has no complete calendar year yet: nothing to rank is not a failure. With a run's
    ids, the outcome (or the reason for skipping) goes to the run's review page."""
    from dataclasses import asdict

    from cop import db
    from cop.security import TRANSFORM_ROLE
    from publishing.rankings import RankingError, latest_complete_year, refresh_rankings as refresh

    def note(state: str, text: str) -> None:
        if dag_id and run_id:
            run_review.record_step(dag_id, run_id, run_review.StepOutcome("rankings", state, text))

    with db.connect_as(TRANSFORM_ROLE) as conn:
        try:
            year = latest_complete_year(conn)
        except RankingError as exc:
            note("skipped", f"not refreshed: {exc}")
            return {"skipped": str(exc)}
    run = refresh(year=year)
    log.info("rankings refreshed: %s", run)
    note("ok", f"{run.year}: {run.units_ranked} of {run.units_expected} units ranked, {run.awards} awards "
               f"(seed {run.seed}, {run.draws} draws)")
    return asdict(run)


def create_release(year: int | None, run_after=None) -> dict:
    """A new release of the year (by default the year before the run): build, score, freeze (publishing.release)."""
    from publishing import release
    from hub.deadlines import parse_as_of

    year = int(year) if year else parse_as_of(None, run_after).year - 1
    created = release.create_release(year, "airflow:cop_annual_report")
    log.info("release %s (id %s) of %s, cut-off %s", created.label, created.release_id, year, created.cut_off)
    return {"release_id": created.release_id, "label": created.label, "year": year,
            "cut_off": created.cut_off.isoformat()}


def write_annual_report(release_id: int) -> dict:
    """The annual report and rankings of a release, from its frozen tables only (publishing.release)."""
    from publishing.release import write_release_report

    outputs = write_release_report(release_id)
    return {str(label): str(path) for label, path in outputs.items()}


def write_scorecards(year: int | None = None, provinces: list[str] | None = None) -> dict:
    """Every station's scorecard of the year (None: the latest scored), a pack per province (publishing.scorecards)."""
    from publishing.scorecards import write_scorecards as write

    packs = write(year, provinces)
    for pack in packs:
        log.info("%s: %d scorecards in %.1f s: %s", pack.province_code, pack.stations, pack.seconds, pack.pack)
    return {pack.province_code: {"stations": pack.stations, "pack": str(pack.pack), "seconds": pack.seconds}
            for pack in packs}


def monthly_bulletin(dag_id: str | None = None, run_id: str | None = None) -> dict:
    """The bulletin of the latest month whose returns are final (publishing.bulletin), rewritten on each build;
    mailed (when SMTP is configured) the first time a month's bulletin is written. {"skipped": reason}
    while no month is final."""
    from hub import deadlines
    from publishing.bulletin import STEM_PREFIX, bulletin_dir, write_bulletin

    def note(state: str, text: str) -> None:
        if dag_id and run_id:
            run_review.record_step(dag_id, run_id, run_review.StepOutcome("monthly bulletin", state, text))

    existing = {path.name for path in bulletin_dir().glob(f"{STEM_PREFIX}*.pdf")} if bulletin_dir().exists() else set()
    try:
        written = write_bulletin()
    except LookupError as exc:
        note("skipped", str(exc))
        return {"skipped": str(exc)}
    pdf = written["bulletin (PDF)"]
    settings = deadlines.mail_settings()
    mailed = settings is not None and pdf.name not in existing
    if mailed:
        registry = load_registry()
        to = list(dict.fromkeys(a for code in registry.province_codes for a in settings.recipients_for(code)))
        month = pdf.stem.removeprefix(STEM_PREFIX)
        deadlines.send_mail(settings, f"COP monthly bulletin {month}",
                            f"The national COP monthly bulletin for {month} is attached (PDF).\n"
                            "It is also on the province portal. This is an automatic message from the national COP "
                            "monitoring warehouse.", to, (pdf,))
    note("ok", f"written: {run_review.home_relative(str(pdf))}" + ("; mailed" if mailed else ""))
    return {"bulletin": str(pdf), "html": str(written["bulletin (HTML)"]), "mailed": mailed}


def backup_warehouse(keep: int) -> dict:
    """A backup of the warehouse and its files (hub.backup), then all but the newest `keep` removed."""
    from hub import backup

    made = backup.backup()
    removed = backup.prune(made.path.parent, keep)
    log.info("backup %s (%s); removed %d old backups", made.path, made.describe(), len(removed))
    return {"backup": str(made.path), "removed": [str(p) for p in removed], **made.manifest}


def reporting_deadlines(as_of: str | None, run_after, force_mail: bool = False) -> dict:
    """Check who is overdue, write the reminder report, mail when configured."""
    from hub import deadlines

    report = deadlines.check_deadlines(deadlines.parse_as_of(as_of, run_after))
    path = deadlines.write_reminder_report(report)
    mailed = deadlines.send_reminders(report, force=force_mail)
    log.info("reminder report %s\n%s", path, report.markdown())
    return {"as_of": report.as_of, "report": str(path), "outstanding": [p.province for p in report.outstanding],
            "mailed": mailed}
