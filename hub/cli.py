"""`cop`: the command line front door to the library.

Each command is a thin shell over a library function; the portal and the DAGs
call the same functions.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from cop import db as database
from cop.period import PeriodError, parse_period
from cop.spec import SpecError

app = typer.Typer(help="National COP monitoring warehouse.", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="The warehouse database (embedded PostgreSQL unless COP_DATABASE_URL is set).",
                     no_args_is_help=True)
app.add_typer(db_app, name="db")
console = Console(stderr=True, soft_wrap=True)  # messages and paths whole, never folded mid-line

EXIT_USAGE = 2


def fail(message: str, code: int = EXIT_USAGE) -> None:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def check_province(code: str) -> str:
    from cop.registry import UnknownProvince, load_registry

    try:
        code = load_registry().province(code).province_code
    except UnknownProvince as exc:
        fail(str(exc))
    return code


def check_period(text: str):
    try:
        return parse_period(text)
    except PeriodError as exc:
        fail(str(exc))


# ---------------------------------------------------------------- db


@db_app.command("start")
def db_start(
    port: Optional[int] = typer.Option(None, "--port", min=1, max=65535,
                                       help="Move the embedded server to this port for good (default: keep "
                                            "the port it has had since it was created)."),
) -> None:
    """Start the embedded PostgreSQL under COP_HOME (or check COP_DATABASE_URL) and apply migrations."""
    try:
        url = database.start(port=port)
    except database.DatabaseError as exc:
        fail(str(exc))
    console.print(f"database ready: {database.redacted(url)}  (`cop db url --show-password` for the password)")


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded PostgreSQL of this COP_HOME (an external server is left alone)."""
    database.stop()
    console.print("database stopped" if database.external_url() is None else "external database: nothing to stop")


@db_app.command("status")
def db_status() -> None:
    """Say whether the database is running, where, and its URL. Exit 1 when it is not running."""
    status = database.status()
    kind = "embedded" if status.embedded else "external (COP_DATABASE_URL)"
    print(f"{kind}: {'running' if status.running else 'stopped'}")
    if status.pid:
        print(f"pid: {status.pid}")
    if status.data_dir:
        print(f"data: {status.data_dir}")
    print(f"url: {database.redacted(status.url)}")
    raise typer.Exit(0 if status.running else 1)


SHOW_PASSWORD = typer.Option(False, "--show-password", help="Print the password in the URL (else ****).")


@db_app.command("url")
def db_url(show_password: bool = SHOW_PASSWORD) -> None:
    """Print the connection URL of the running database (exit 1 when it is stopped; it is not started)."""
    try:
        url = database.database_url()
    except database.DatabaseError as exc:
        fail(str(exc), 1)
    print(url if show_password else database.redacted(url))


@db_app.command("roles")
def db_roles(show_password: bool = SHOW_PASSWORD) -> None:
    """The least-privilege model: each login role, what it is for, its connection limit and settings,
    and its connection URL (the password shown only with --show-password), creating any missing role first."""
    from cop.security import role_model, role_urls

    connection_urls = role_urls(database.database_url())
    print("superuser: migrations and server administration only (cop db start, cop db url)")
    with database.connect() as conn:
        roles = role_model(conn)
    for role in roles:
        limit = "no connection limit" if role.connection_limit < 0 else f"at most {role.connection_limit} connections"
        print(f"{role.role}: {role.purpose}")
        print(f"    {limit}; {', '.join(role.settings) or 'no role settings'}"
              + (f"; member of {', '.join(role.member_of)}" if role.member_of else ""))
        url = connection_urls[role.role]
        print(f"    {url if show_password else database.redacted(url)}")


@db_app.command("backup")
def db_backup(
    out: Optional[Path] = typer.Option(None, "--out", help="Folder to write the backup into "
                                                           "(default: COP_HOME/backups)."),
    keep: Optional[int] = typer.Option(None, "--keep", min=1, help="Then delete all but the newest N backups "
                                                                   "in that folder."),
) -> None:
    """Back up the warehouse (pg_dump) with the landing zone's files and the validation reports."""
    from hub import backup

    try:
        made = backup.backup(out)
    except (database.DatabaseError, backup.BackupError) as exc:
        fail(str(exc), 1)
    console.print(f"backup written: {made.path} ({made.describe()})")
    if keep:
        for old in backup.prune(made.path.parent, keep):
            console.print(f"removed old backup {old}")


@db_app.command("restore")
def db_restore(
    path: Path = typer.Argument(..., help="A backup folder written by `cop db backup`."),
    force: bool = typer.Option(False, "--force", help="Replace a warehouse that already holds submissions."),
) -> None:
    """Restore a backup into this COP_HOME's database (replacing its contents) and its landing zone.
    Rebuild the warehouse afterwards with `cop build --full-refresh`."""
    from hub import backup

    try:
        restored = backup.restore(path, force=force)
    except (database.DatabaseError, backup.BackupError) as exc:
        fail(str(exc), 1)
    console.print(f"restored {restored.path} ({restored.describe()}); now run `cop build --full-refresh`")


# ---------------------------------------------------------------- reference data


@app.command()
def units(
    province: str = typer.Option(..., "--province", help="Province code, e.g. SD."),
    period: Optional[str] = typer.Option(None, "--period", help="Month YYYY-MM (default: the last completed month)."),
    output_format: str = typer.Option("csv", "--format", help="csv or json."),
) -> None:
    """List the registry's units open in a month for a province."""
    from cop.period import last_completed_month
    from cop.registry import load_registry

    province = check_province(province)
    month = check_period(period) if period else last_completed_month()
    rows = [
        dict(province_code=u.province_code, district_code=u.district_code, unit_code=u.unit_code,
             unit_name=u.unit_name, urban_rural=u.urban_rural, population=u.population,
             opened_on=u.opened_on.isoformat(), closed_on=u.closed_on.isoformat() if u.closed_on else "")
        for u in load_registry().units_open(province, month)
    ]
    if output_format == "json":
        json.dump(rows, sys.stdout, ensure_ascii=False, indent=1)
        print()
    elif output_format == "csv":
        import csv

        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]) if rows else ["unit_code"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    else:
        fail(f"--format must be csv or json, not '{output_format}'")


spec_app = typer.Typer(help="The form's spec (spec/) and the files generated from it.", no_args_is_help=True)
app.add_typer(spec_app, name="spec")


@spec_app.command("generate")
def spec_generate() -> None:
    """Write every file the spec implies (GX suites, the wide fact's dbt contract); run after editing spec/."""
    from hub.spec_outputs import write_outputs

    changed = write_outputs()
    for path in changed:
        print(path)
    console.print(f"{len(changed)} generated file(s) changed" if changed else "every generated file was up to date")


@spec_app.command("check")
def spec_check() -> None:
    """Exit 1, naming them, if generated files differ from what the spec implies."""
    from hub.spec_outputs import stale_outputs

    stale = stale_outputs()
    if stale:
        fail("stale generated files (run `cop spec generate`): " + ", ".join(map(str, stale)), code=1)
    console.print("every generated file agrees with spec/")


@app.command()
def template(
    province: str = typer.Option(..., "--province", help="Province code, e.g. SD."),
    output_format: str = typer.Option("xlsx", "--format", help="csv or xlsx."),
    out: Path = typer.Option(..., "--out", help="Where to write the template."),
    period: Optional[str] = typer.Option(None, "--period",
                                         help="The month (YYYY-MM): the template of the form version in force "
                                              "for it, pre-filled with one row per unit open then. Without it: "
                                              "the version in force now, not pre-filled."),
) -> None:
    """Write the monthly return template for a province (the national form with its amendment applied)."""
    from cop.template import template_form, write_template

    province = check_province(province)
    if output_format not in ("csv", "xlsx"):
        fail(f"--format must be csv or xlsx, not '{output_format}'")
    try:
        month = check_period(period) if period else None
        write_template(province, output_format, out, month)
    except SpecError as exc:
        fail(str(exc))
    console.print(f"template written: {out} (form v{template_form(month).version})")


@app.command()
def generate(
    out: Path = typer.Option(..., "--out", help="Folder to write the sample returns into."),
    years: int = typer.Option(2, "--years", min=1, max=12, help="How many years of monthly returns."),
    seed: int = typer.Option(7, "--seed", help="Random seed: the same seed gives the same bytes."),
    end: str = typer.Option("2025-12", "--end", help="Last month generated (YYYY-MM)."),
) -> None:
    """Generate realistic sample returns: one file per province per month, in each province's own format."""
    from hub.generate import generate_returns

    manifest = generate_returns(out, years=years, seed=seed, end=check_period(end), progress=True)
    console.print(f"{len(manifest)} files written to {out} (manifest: {out / 'manifest.csv'})")


# ---------------------------------------------------------------- intake



@app.command()
def submit(
    path: Path = typer.Argument(..., help="The province's return file (CSV or XLSX)."),
    province: str = typer.Option(..., "--province", help="Province code, e.g. SD."),
    period: str = typer.Option(..., "--period", help="The month the return is for, YYYY-MM."),
    as_json: bool = typer.Option(False, "--json", help="Print the receipt as one JSON object."),
    submitted_by: Optional[str] = typer.Option(None, "--by", help="Who sends the file (default: your user name)."),
    check_only: bool = typer.Option(False, "--check-only", help="Validate and report only: save nothing."),
) -> None:
    """Land, validate and load a province's monthly return. Exit 0 accepted or duplicate, 1 rejected, 2 usage."""
    from loaders.sandbox import start_soon

    start_soon()  # the verdict's process imports Great Expectations while this one imports the intake
    import getpass

    import psycopg

    from loaders.intake import MonthBusy, SubmitError, submit_file

    if not path.is_file():
        fail(f"no such file: {path}")
    try:
        content = path.read_bytes()
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}")
    try:
        receipt = submit_file(content, path.name, province, period, submitted_by or _user_name(getpass),
                              channel="cli", dry_run=check_only)
    except (SubmitError, MonthBusy) as exc:
        fail(str(exc))
    except (database.DatabaseError, psycopg.Error, OSError) as exc:
        fail(f"the intake could not finish ({type(exc).__name__}: {exc}); nothing was recorded")
    if as_json:
        print(json.dumps(receipt.to_dict(), ensure_ascii=False, default=str))
    else:
        _print_receipt(receipt)
    raise typer.Exit(receipt.exit_code)


def _user_name(getpass) -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _print_receipt(receipt) -> None:
    from loaders.problems import rule_summary

    print(receipt.summary)
    for line in rule_summary(receipt.counts, receipt.errors + receipt.warnings):
        print(line)
    if receipt.report_html:
        print(f"report: {receipt.report_html}\nproblems: {receipt.problems_csv} | {receipt.problems_xlsx}")


@app.command()
def submissions(
    province: Optional[str] = typer.Option(None, "--province", help="Only this province."),
    period: Optional[str] = typer.Option(None, "--period", help="Only this month (YYYY-MM)."),
    as_json: bool = typer.Option(False, "--json", help="Print the list as JSON."),
) -> None:
    """List the submissions received, with their versions and verdicts (* = the month's current version)."""
    from loaders.intake import SubmitError, list_submissions

    try:
        rows = list_submissions(province=province, period=period)
    except SubmitError as exc:
        fail(str(exc))
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, default=str, indent=1))
        return
    print("id\tprovince\tperiod\tversion\tstatus\treceived_at\trows\terrors\twarnings\tfile")
    for row in rows:
        version = f"v{row['version']}" if row["version"] else f"={row['duplicate_of']}"
        current = "*" if row["is_current"] else ""
        print(f"{row['submission_id']}\t{row['province_code']}\t{row['period']}\t{version}{current}\t{row['status']}\t"
              f"{row['received_at']:%Y-%m-%d %H:%M}\t{row['row_count'] if row['row_count'] is not None else ''}\t"
              f"{row['error_count']}\t{row['warning_count']}\t{row['file_name']}")


# ---------------------------------------------------------------- warehouse


@app.command()
def build(
    full_refresh: bool = typer.Option(False, "--full-refresh", help="Rebuild the incremental facts from raw."),
    select: Optional[str] = typer.Option(None, "--select", help="dbt selection, e.g. 'marts' or '+fct_unit_month'."),
    docs: bool = typer.Option(False, "--docs", help="Also write the dbt documentation site under COP_HOME."),
) -> None:
    """Build the warehouse with dbt (snapshot, staging, marts, every test). Exit 1 when anything fails."""
    from cop import build as warehouse

    result = warehouse.build(full_refresh=full_refresh, select=select)
    if not result.success:
        console.print(f"[red]warehouse build failed[/red]\n{result.failure_report()}")
        raise typer.Exit(1)
    console.print(result.summary())
    if docs:
        try:
            console.print(f"dbt docs: {warehouse.generate_docs()}")
        except warehouse.BuildError as exc:
            fail(str(exc), 1)


@app.command()
def rankings(
    year: Optional[int] = typer.Option(None, "--year", help="Year to rank (default: the latest complete year)."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Monte Carlo seed (default: spec/scoring.yaml)."),
) -> None:
    """Score and rank the units of a year (COP performance index, spec/scoring.yaml) into the score marts."""
    from publishing.rankings import RankingError, refresh_rankings

    try:
        run = refresh_rankings(year=year, seed=seed)
    except RankingError as exc:
        fail(str(exc), 1)
    console.print(f"{run.year}: {run.units_ranked} of {run.units_expected} units ranked, {run.awards} awards "
                  f"(run {run.run_id}, seed {run.seed}, {run.draws} draws)")


@app.command()
def report(
    year: Optional[int] = typer.Option(None, "--year", help="Year of the report (default: the latest complete year)."),
    out: Path = typer.Option(..., "--out", help="Folder to write the report and the rankings into."),
    refresh: bool = typer.Option(True, "--refresh/--no-refresh", help="Refresh the rankings of the year first."),
) -> None:
    """A draft annual report (HTML and PDF) and rankings (CSV, XLSX) from the current figures; the published
    one comes from a release (`cop release create --year Y`)."""
    from publishing.annual import write_annual_report
    from publishing.rankings import RankingError, refresh_rankings

    try:
        if refresh:
            year = refresh_rankings(year=year).year
        written = write_annual_report(year=year, out_dir=out)
    except RankingError as exc:
        fail(str(exc), 1)
    for label, path in written.items():
        print(f"{label}: {path}")


@app.command()
def scorecards(
    year: Optional[int] = typer.Option(None, "--year", help="Scored year (default: the latest in the rankings)."),
    province: Optional[list[str]] = typer.Option(None, "--province", help="Only this province (repeatable)."),
) -> None:
    """Every station's one-page scorecard, a PDF pack per province (COP_HOME/reports/scorecards/), as the
    annual DAG writes them; the portal serves them."""
    from hub.orchestration import write_scorecards

    try:
        written = write_scorecards(year, [check_province(p) for p in province or []] or None)
    except LookupError as exc:
        fail(str(exc), 1)
    for code, pack in written.items():
        print(f"{code}: {pack['stations']} scorecards in {pack['seconds']} s: {pack['pack']}")


@app.command()
def bulletin(
    period: Optional[str] = typer.Option(None, "--month", help="Month YYYY-MM (default: the latest whose returns "
                                                                 "are final; a month not final is marked provisional)."),
) -> None:
    """The monthly national bulletin (HTML and PDF) into COP_HOME/reports/bulletins/, without mailing it."""
    from publishing.bulletin import write_bulletin

    try:
        written = write_bulletin(check_period(period) if period else None)
    except LookupError as exc:
        fail(str(exc), 1)
    for label, path in written.items():
        print(f"{label}: {path}")


# ---------------------------------------------------------------- federal review of a province-month

month_app = typer.Typer(help="The federal desk's review of a province-month: show, approve, return, unlock.",
                        no_args_is_help=True)
app.add_typer(month_app, name="month")
PROVINCE_ARGUMENT = typer.Argument(..., help="Province code, e.g. SD.")
PERIOD_ARGUMENT = typer.Argument(..., help="The month, YYYY-MM.")
REVIEWER_OPTION = typer.Option(..., "--by", help="The federal reviewer's portal account taking the decision.")


@month_app.command("show")
def month_show(province: str = PROVINCE_ARGUMENT, period: str = PERIOD_ARGUMENT) -> None:
    """The month's state (reporting, review, lock) and everything that happened to it, oldest first."""
    from loaders import approval

    code, month = check_province(province), check_period(period)
    state = approval.state(code, month)
    lock = f"locked ({state.lock_reason})" if state.is_locked else (
        f"unlocked until {state.unlocked_until:%Y-%m-%d %H:%M %Z}" if state.unlocked_until
        else f"open (locks {state.lock_at:%Y-%m-%d})")
    print(f"{state.name}: {state.reporting_state}, {state.review_label.lower()}, {lock}"
          + (f"; returned because: {state.return_reason}" if state.return_reason else ""))
    for entry in approval.month_log(code, month):
        version = f" v{entry.version}" if entry.version else ""
        print(f"  {entry.at:%Y-%m-%d %H:%M %Z}  {entry.event}{version}  by {entry.actor}"
              + (f": {entry.detail}" if entry.detail else ""))


def _decision(action, province: str, period: str, *args, **kwargs) -> None:
    from loaders.approval import ReviewRefused

    code, month = check_province(province), check_period(period)
    try:
        state = action(code, month, *args, **kwargs)
    except ReviewRefused as exc:
        fail(str(exc), 1)
    lock = f", locked ({state.lock_reason})" if state.is_locked else (
        f", unlocked until {state.unlocked_until:%Y-%m-%d %H:%M %Z}" if state.unlocked_until else "")
    print(f"{state.name}: {state.review_label.lower()}{lock}")


@month_app.command("approve")
def month_approve(province: str = PROVINCE_ARGUMENT, period: str = PERIOD_ARGUMENT, by: str = REVIEWER_OPTION,
                  note: Optional[str] = typer.Option(None, "--note", help="A note for the audit log.")) -> None:
    """Approve the month's current version (it locks). Exit 1 when refused."""
    from loaders.approval import approve

    _decision(approve, province, period, by, note)


@month_app.command("return")
def month_return(province: str = PROVINCE_ARGUMENT, period: str = PERIOD_ARGUMENT, by: str = REVIEWER_OPTION,
                 reason: str = typer.Option(..., "--reason", help="Why: the province reads this and resubmits.")) -> None:
    """Return the month's current version to the province with a reason. Exit 1 when refused."""
    from loaders.approval import return_month

    _decision(return_month, province, period, by, reason)


@month_app.command("unlock")
def month_unlock(province: str = PROVINCE_ARGUMENT, period: str = PERIOD_ARGUMENT, by: str = REVIEWER_OPTION,
                 reason: str = typer.Option(..., "--reason", help="Why the locked month may be revised."),
                 days: int = typer.Option(7, "--days", help="How long the unlock lasts (1-30 days).")) -> None:
    """Let the province revise a locked month for a limited time. Exit 1 when refused."""
    from loaders.approval import unlock

    _decision(unlock, province, period, by, reason, days=days)


# ---------------------------------------------------------------- releases

release_app = typer.Typer(help="Published releases: a year's figures frozen at a cut-off, and the report from them.",
                          no_args_is_help=True)
app.add_typer(release_app, name="release")
RELEASE_ARGUMENT = typer.Argument(..., help="The release: its label (2025-r1) or id.")


@release_app.command("create")
def release_create(
    year: int = typer.Option(..., "--year", help="The year to release."),
    by: Optional[str] = typer.Option(None, "--by", help="Who releases it (default: your user name)."),
    note: Optional[str] = typer.Option(None, "--note", help="What the release is for."),
    report: bool = typer.Option(True, "--report/--no-report", help="Also write the report and rankings from it."),
    out: Optional[Path] = typer.Option(None, "--out", help="Folder for the report (default COP_HOME/reports/release-LABEL)."),
) -> None:
    """Build, score and freeze a year as a new release; then write its report. Exit 1 when it cannot."""
    import getpass

    from publishing import release

    try:
        created = release.create_release(year, by or _user_name(getpass), note=note)
        print(f"release {created.label} (id {created.release_id}): {created.year} as of "
              f"{created.cut_off:%Y-%m-%d %H:%M %Z}, scoring run {created.scoring_run_id}")
        if report:
            for label, path in release.write_release_report(created.release_id, out).items():
                print(f"{label}: {path}")
    except release.ReleaseError as exc:
        fail(str(exc), 1)


@release_app.command("list")
def release_list(year: Optional[int] = typer.Option(None, "--year", help="Only this year.")) -> None:
    """Every release: label, id, year, cut-off, scoring run, who released it."""
    from publishing.release import list_releases

    print("label\tid\tyear\tcut_off\tscoring_run\tby\tnote")
    for r in list_releases(year):
        print(f"{r.label}\t{r.release_id}\t{r.year}\t{r.cut_off:%Y-%m-%d %H:%M %Z}\t{r.scoring_run_id}\t"
              f"{r.created_by}\t{r.note or ''}")


@release_app.command("report")
def release_report(key: str = RELEASE_ARGUMENT,
                   out: Optional[Path] = typer.Option(None, "--out", help="Folder (default COP_HOME/reports/release-LABEL).")) -> None:
    """Write (again) the report and rankings of a release; exit 1 unless every file is byte-identical to the
    one first published."""
    from publishing import release

    try:
        for label, path in release.write_release_report(key, out).items():
            print(f"{label}: {path}")
    except release.ReleaseError as exc:
        fail(str(exc), 1)


@release_app.command("revisions")
def release_revisions(key: str = RELEASE_ARGUMENT) -> None:
    """The months of the release's year revised since: they show in the next release, never in this one."""
    from publishing import release

    try:
        revisions = release.revisions_since(key)
    except release.ReleaseError as exc:
        fail(str(exc), 1)
    print("province\tperiod\treleased\tcurrent")
    for r in revisions:
        released = f"v{r.released_version} ({r.released_submission_id})" if r.released_version else "none"
        print(f"{r.province_code}\t{r.period:%Y-%m}\t{released}\tv{r.current_version} ({r.current_submission_id})")


@app.command()
def demo(
    years: int = typer.Option(2, "--years", min=1, max=12, help="Years of sample returns to run through."),
    seed: int = typer.Option(7, "--seed", help="Random seed for the sample returns."),
) -> None:
    """Run the whole pipeline end to end on generated sample data, and say where the outputs are."""
    from hub.demo import DemoFailed, run_demo

    try:
        run_demo(years=years, seed=seed)
    except DemoFailed as exc:
        fail(str(exc), code=1)


# ---------------------------------------------------------------- orchestration (Airflow)


@app.command("airflow")
def airflow_ui(
    port: int = typer.Option(8080, "--port", help="Port of the Airflow UI and API."),
    metadata: str = typer.Option("postgres", "--metadata",
                                 help="Airflow's metadata database: postgres (an 'airflow' database on the "
                                      "embedded server) or sqlite."),
) -> None:
    """Start Airflow (standalone) with the COP DAGs against this COP_HOME; prints the URL and the login."""
    from hub.airflow_local import migrate_metadata, run_standalone

    if metadata not in ("postgres", "sqlite"):
        fail(f"--metadata must be postgres or sqlite, not '{metadata}'")
    console.print("preparing Airflow's metadata database (the first time takes a minute) ...")
    migrate_metadata(metadata)
    raise typer.Exit(run_standalone(port=port, metadata=metadata))


@app.command("inbox")
def inbox_status() -> None:
    """List the files waiting in each province's drop folder (COP_HOME/inbox/<PROVINCE>/)."""
    from hub.inbox import ensure_inboxes, inbox_dir, pending_files
    from cop.registry import load_registry

    codes = load_registry().province_codes
    ensure_inboxes(codes)
    for code in codes:
        waiting = pending_files(code)
        print(f"{code}: {len(waiting)} waiting in {inbox_dir(code)}")
        for item in waiting:
            print(f"  {item.path.name}" + (f"  (will be refused: {item.problem})" if item.problem else ""))


@app.command("sources")
def sources_status() -> None:
    """Each province's source (drop folder, SFTP or HTTPS; spec/sources.yaml or COP_SOURCES_FILE), the fetch
    window of last month's return, and the last look at it."""
    import datetime as dt

    from hub.deadlines import AGENCY_TIME_ZONE
    from hub.fetch import last_checks
    from cop.period import add_months, format_period
    from cop.sources import SourceConfigError, load_sources
    from cop.spec import load_amendment

    try:
        sources = load_sources()
    except SourceConfigError as exc:
        fail(str(exc))
    with database.connect() as conn:
        checks = last_checks(conn)
    today = dt.datetime.now(AGENCY_TIME_ZONE).date()
    for code, source in sources.items():
        due_day = load_amendment(code).due_day
        period = format_period(add_months(today.replace(day=1), -1))
        first, last = source.window(period, due_day)
        print(f"{code}  {source.kind:<11}  {source.describe()}")
        if not source.remote:
            continue
        print(f"    fetches {period} from {first} to {last} (due day {due_day} + {source.grace_days} days' grace)")
        check = checks.get(code, {})
        if "state" in check:
            print(f"    last look {check['checked_at']:%Y-%m-%d %H:%M} UTC: {check['state']}: {check['message']}")
        else:
            print("    never looked at yet")
        print(f"    last file taken: {check.get('last_taken', 'none')}")


@app.command("fetch")
def fetch_now(
    province: list[str] = typer.Option([], "--province", help="Province(s) to fetch (default: every remote source)."),
    period: list[str] = typer.Option([], "--period", help="Month(s) YYYY-MM (default: those whose window is open)."),
) -> None:
    """Fetch new files from the provinces' remote sources now and submit them, as the monthly DAG does.
    Credentials come from the environment: AIRFLOW_CONN_<CONNECTION_ID> (URI or JSON)."""
    import datetime as dt

    from hub import orchestration
    from hub import run_review
    from hub.fetch import FetchFailure, recorded_fetch
    from cop.sources import load_sources

    for text in period:
        check_period(text)
    codes = [check_province(code) for code in province] or orchestration.selected_provinces()
    remote = [code for code, source in load_sources().items() if source.remote and code in codes]
    if not remote:
        fail("no province among those has a remote source; see `cop sources`")
    run_id = "cli__" + dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
    failed = False
    for code in remote:
        try:
            orchestration.intake_province(code, "cop_fetch", run_id, periods=list(period) or None)
        except FetchFailure:
            failed = True
        report = recorded_fetch("cop_fetch", run_id, code)
        print(f"{code}: {report['state']}: {report['message']}")
        for outcome in run_review.recorded_files("cop_fetch", run_id, code):
            print(f"  {outcome.sentence()}")
    if failed:
        raise typer.Exit(1)


# ---------------------------------------------------------------- the semantic layer

metrics_app = typer.Typer(help="The agency's metrics (the dbt semantic layer, answered by MetricFlow as bi_reader).",
                          no_args_is_help=True)
app.add_typer(metrics_app, name="metrics")


def _names(values: list[str]) -> list[str]:
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


@metrics_app.command("list")
def metrics_list() -> None:
    """Every metric: name, type, label and what it measures."""
    from hub.metrics import MetricsError, list_metrics

    try:
        infos = list_metrics()
    except MetricsError as exc:
        fail(str(exc), 1)
    print("metric\ttype\tlabel\tdescription")
    for info in infos:
        print(f"{info.name}\t{info.kind}\t{info.label}\t{info.description}")


@metrics_app.command("query")
def metrics_query(
    metrics: list[str] = typer.Option(..., "--metrics", "-m", help="Metric name(s), comma-separated or repeated."),
    group_by: list[str] = typer.Option([], "--group-by", "-g", help=(
        "Dimension(s): metric_time__month, __quarter, __year or __fiscal_year (July-June); province, "
        "province__province_name, district__district_name, station.")),
    where: list[str] = typer.Option([], "--where", help="A MetricFlow filter, e.g. \"{{ Entity('province') }} = 'SD'\"."),
    order_by: list[str] = typer.Option([], "--order-by", help="Metric or dimension; prefix - for descending."),
    limit: Optional[int] = typer.Option(None, "--limit"),
    show_sql: bool = typer.Option(False, "--sql", help="Print the SQL MetricFlow wrote instead of the rows."),
) -> None:
    """Answer metrics grouped by dimensions, as CSV (exit 1 when a metric or dimension is unknown)."""
    import csv

    from hub.metrics import MetricsError, query_metrics

    try:
        answer = query_metrics(_names(metrics), _names(group_by), where, _names(order_by), limit)
    except MetricsError as exc:
        fail(str(exc), 1)
    if show_sql:
        print(answer.sql)
        return
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(answer.columns)
    writer.writerows(answer.rows)


# ---------------------------------------------------------------- the province portal

users_app = typer.Typer(help="Accounts of the province portal (province staff and federal reviewers).",
                        no_args_is_help=True)
app.add_typer(users_app, name="users")


@users_app.command("add")
def users_add(
    username: str = typer.Argument(..., help="Sign-in name: lower-case letters, digits, '.', '_' or '-'."),
    role: str = typer.Option(..., "--role", help="province (uploads for one province) or federal (reviewer)."),
    province: Optional[str] = typer.Option(None, "--province", help="The province of a province user, e.g. SD."),
    name: Optional[str] = typer.Option(None, "--name", help="Name shown on the pages (default: the username)."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input."),
) -> None:
    """Create a portal account (the password is hashed with argon2id; it is asked for unless --password-stdin)."""
    from portal.accounts import AccountError, add_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = add_user(username, password, role, province, name)
    except AccountError as exc:
        fail(str(exc))
    console.print(f"created {user.role} user '{user.username}'" + (f" for {user.province_code}" if user.province_code else ""))


@users_app.command("list")
def users_list() -> None:
    """List the portal accounts."""
    from portal.accounts import list_users

    print("username\trole\tprovince\tdisabled\tcreated_at\tname")
    for user in list_users():
        print(f"{user.username}\t{user.role}\t{user.province_code or ''}\t{'yes' if user.disabled else 'no'}\t"
              f"{user.created_at:%Y-%m-%d %H:%M}\t{user.display_name}")


@users_app.command("disable")
def users_disable(username: str = typer.Argument(..., help="The account to disable (its sessions end at once).")) -> None:
    """Disable a portal account; `cop users enable` turns it back on."""
    _set_user_disabled(username, True)


@users_app.command("enable")
def users_enable(username: str = typer.Argument(..., help="The account to enable again.")) -> None:
    """Enable a disabled portal account."""
    _set_user_disabled(username, False)


def _set_user_disabled(username: str, disabled: bool) -> None:
    from portal.accounts import AccountError, set_disabled

    try:
        set_disabled(username, disabled)
    except AccountError as exc:
        fail(str(exc))
    console.print(f"user '{username}' {'disabled' if disabled else 'enabled'}")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on (production: behind a TLS proxy)."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
) -> None:
    """Start the province portal (web pages for uploads and the federal status screen)."""
    import uvicorn

    from cop.security import PORTAL_ROLE
    from portal.addresses import trusted_proxies

    try:
        url = database.role_url(PORTAL_ROLE)  # the portal never needs the administrator's URL
    except database.DatabaseError as exc:
        fail(str(exc))
    console.print(f"portal on http://{host}:{port} (database {database.redacted(url)}); Ctrl+C stops it")
    # X-Forwarded-For and -Proto count only from COP_PORTAL_TRUSTED_PROXIES (portal.addresses).
    proxies = trusted_proxies()
    uvicorn.run("portal.app:create_app", factory=True, host=host, port=port, proxy_headers=bool(proxies),
                forwarded_allow_ips=",".join(str(network) for network in proxies) or None,
                server_header=False, log_level="info")


def main() -> None:  # pragma: no cover - the console entry point (pyproject.toml)
    try:
        app()
    except database.DatabaseStopped as exc:  # any command that needs the database while it is stopped
        console.print(f"[red]error:[/red] {exc}")
        raise SystemExit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
