"""`cop build`: dbt's progress, a summary, and exit 1 with the failing nodes named when dbt fails."""
from __future__ import annotations

from typer.testing import CliRunner

from hub.cli import app
from warehouse_data import pkt, unit_values

SELECTION = "staging intermediate assert_reported_units_are_expected"


def test_build_command_succeeds_then_fails_clearly(warehouse_url, raw_loader):
    raw_loader.submit("GB", "2025-01", pkt("2025-02-01 10:00"), {"GB-GLT-001": unit_values(1)})
    runner = CliRunner()
    ok = runner.invoke(app, ["build", "--select", SELECTION])
    assert ok.exit_code == 0, ok.output
    assert "dbt build ok" in ok.output

    raw_loader.submit("GB", "2025-02", pkt("2025-03-01 10:00"), {"GB-XXX-999": unit_values(1)})
    failed = runner.invoke(app, ["build", "--select", SELECTION])
    assert failed.exit_code == 1
    assert "warehouse build failed" in failed.output
    assert "assert_reported_units_are_expected" in failed.output
