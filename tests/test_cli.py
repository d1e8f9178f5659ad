"""The `cop` command line: help everywhere, the registry listing, clear usage errors."""
from __future__ import annotations

import csv
import io
import json

import typer
from typer.testing import CliRunner

from hub.cli import app

runner = CliRunner()


def _command_paths(group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = []
    for name, command in group.commands.items():
        paths.append(prefix + (name,))
        if hasattr(command, "commands"):
            paths += _command_paths(command, prefix + (name,))
    return paths


def test_every_command_has_help():
    root = typer.main.get_command(app)
    paths = _command_paths(root)
    assert {("db", "start"), ("units",), ("template",), ("generate",), ("demo",)} <= set(paths)
    for path in paths:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage" in result.output


def test_units_as_csv_and_json():
    result = runner.invoke(app, ["units", "--province", "IC", "--period", "2025-01"])
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert result.exit_code == 0 and len(rows) >= 26
    assert {"province_code", "district_code", "unit_code", "unit_name", "urban_rural", "population"} <= set(rows[0])
    as_json = json.loads(runner.invoke(app, ["units", "--province", "IC", "--period", "2025-01",
                                             "--format", "json"]).stdout)
    assert [r["unit_code"] for r in as_json] == [r["unit_code"] for r in rows]


def test_units_follow_the_registry_history():
    codes = lambda period: {r["unit_code"] for r in csv.DictReader(io.StringIO(
        runner.invoke(app, ["units", "--province", "IC", "--period", period]).stdout))}
    assert codes("2024-10") - codes("2024-09") == {"IC-ISB-027"}


def test_usage_errors_exit_2_with_a_message():
    for args, message in ([["units", "--province", "ZZ"], "unknown province 'ZZ'"],
                          [["units", "--province", "SD", "--period", "2025-13"], "not a month written as YYYY-MM"],
                          [["units", "--province", "SD", "--format", "xml"], "--format must be csv or json"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, args
        assert message in result.output
