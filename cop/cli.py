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
console = Console(stderr=True)

EXIT_USAGE = 2


def fail(message: str, code: int = EXIT_USAGE) -> None:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def check_province(code: str) -> str:
    from cop.registry import load_registry

    code = code.strip().upper()
    known = load_registry().province_codes
    if code not in known:
        fail(f"unknown province '{code}'; use one of {', '.join(known)}")
    return code


def check_period(text: str):
    try:
        return parse_period(text)
    except PeriodError as exc:
        fail(str(exc))


# ---------------------------------------------------------------- db


@db_app.command("start")
def db_start() -> None:
    """Start the embedded PostgreSQL under COP_HOME (or check COP_DATABASE_URL) and apply migrations."""
    try:
        url = database.start()
    except database.DatabaseError as exc:
        fail(str(exc))
    console.print(f"database ready: {url}")


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
    print(f"url: {status.url}")
    raise typer.Exit(0 if status.running else 1)


@db_app.command("url")
def db_url() -> None:
    """Print the connection URL (starting the embedded server if needed)."""
    print(database.database_url())


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


@app.command()
def template(
    province: str = typer.Option(..., "--province", help="Province code, e.g. SD."),
    output_format: str = typer.Option("xlsx", "--format", help="csv or xlsx."),
    out: Path = typer.Option(..., "--out", help="Where to write the template."),
    period: Optional[str] = typer.Option(None, "--period",
                                         help="Pre-fill one row per unit open in this month (YYYY-MM)."),
) -> None:
    """Write the monthly return template for a province (the national form with its amendment applied)."""
    from cop.template import write_template

    province = check_province(province)
    if output_format not in ("csv", "xlsx"):
        fail(f"--format must be csv or xlsx, not '{output_format}'")
    try:
        write_template(province, output_format, out, check_period(period) if period else None)
    except SpecError as exc:
        fail(str(exc))
    console.print(f"template written: {out}")


@app.command()
def generate(
    out: Path = typer.Option(..., "--out", help="Folder to write the sample returns into."),
    years: int = typer.Option(2, "--years", min=1, max=12, help="How many years of monthly returns."),
    seed: int = typer.Option(7, "--seed", help="Random seed: the same seed gives the same bytes."),
    end: str = typer.Option("2025-12", "--end", help="Last month generated (YYYY-MM)."),
) -> None:
    """Generate realistic sample returns: one file per province per month, in each province's own format."""
    from cop.generate import generate_returns

    manifest = generate_returns(out, years=years, seed=seed, end=check_period(end), progress=True)
    console.print(f"{len(manifest)} files written to {out} (manifest: {out / 'manifest.csv'})")


@app.command()
def demo(
    years: int = typer.Option(2, "--years", min=1, max=12, help="Years of sample returns to run through."),
    seed: int = typer.Option(7, "--seed", help="Random seed for the sample returns."),
) -> None:
    """Run the whole pipeline end to end on generated sample data, and say where the outputs are."""
    from cop.demo import run_demo

    run_demo(years=years, seed=seed)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
