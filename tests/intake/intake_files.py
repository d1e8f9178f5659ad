"""Helpers of the intake tests: submit bytes, build a valid return, run `cop` in a subprocess."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

from loaders.intake import submit_file
from loaders.sample import encode_return, sample_return

RECEIVED = dt.datetime(2026, 1, 15, 9, 0, tzinfo=dt.timezone.utc)


def submit(content: bytes, province: str, month: dt.date, file_name: str = "return.csv", **kwargs):
    kwargs.setdefault("received_at", RECEIVED)
    return submit_file(content, file_name, province, month, "tests", **kwargs)


def good_file(province: str, month: dt.date, seed: int = 0, units: int | None = None, **overrides) -> bytes:
    return encode_return(sample_return(province, month, seed=seed, units=units), province, **overrides)


def cop_subprocess(*args: str, env_extra: dict | None = None) -> subprocess.Popen:
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.Popen([sys.executable, "-m", "hub.cli", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)

