"""Where things live: the repository's versioned spec, and COP_HOME for all state.

Everything a run writes (database, landing zone, inboxes, outputs) lives under
COP_HOME (default ./.cop), so two homes never interfere.
"""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SPEC_DIR = REPO_ROOT / "spec"
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
EXPECTATIONS_DIR = REPO_ROOT / "expectations"


def cop_home() -> Path:
    home = Path(os.environ.get("COP_HOME", REPO_ROOT / ".cop")).expanduser().resolve()
    home.mkdir(parents=True, exist_ok=True)
    return home


def state_dir(name: str) -> Path:
    """A named folder under COP_HOME: pgdata, landing, inbox, outputs, reports, ..."""
    path = cop_home() / name
    path.mkdir(parents=True, exist_ok=True)
    return path
