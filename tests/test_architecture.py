"""The layers of docs/ARCHITECTURE.md hold: `lint-imports` (import-linter, contracts in pyproject.toml)
passes on the tree, and fails on a copy of it where the kernel imports the shell, at the top of a module
or inside a function."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cop.paths import REPO_ROOT

PACKAGES = ("cop", "expectations", "loaders", "publishing", "portal", "hub", "bench")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=root, env=environment,
                          capture_output=True, text=True, timeout=300)


def test_the_layers_hold():
    result = lint_imports(REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize("import_line", ["from hub import cli\n",
                                         "def _hidden():\n    from hub.orchestration import intake_province\n"])
def test_a_kernel_module_importing_the_shell_breaks_the_contract(tmp_path, import_line):
    for package in PACKAGES:
        shutil.copytree(REPO_ROOT / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.html", "*.sql", "static", "templates"))
    shutil.copy(REPO_ROOT / "pyproject.toml", tmp_path)
    with (tmp_path / "cop" / "period.py").open("a") as module:
        module.write("\n" + import_line)
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
    assert "cop.period -> hub." in result.stdout, result.stdout
