"""The landing zone: the exact bytes of every file received, kept immutably, named by sha256.

The name a province gave its file is recorded in the database, never used as
a path: a file named '../../etc/passwd' lands as landing/ab/abcdef....
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cop.paths import state_dir


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def landed_path(sha256: str) -> Path:
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError(f"not a sha256 hex digest: {sha256!r}")
    return state_dir("landing") / sha256[:2] / sha256


def land(content: bytes) -> tuple[str, Path]:
    """Store the bytes (once: the same bytes land in the same place) and return (sha256, path), read-only."""
    digest = sha256_of(content)
    path = landed_path(digest)
    if path.exists() and path.stat().st_size == len(content):
        return digest, path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{digest}.{os.getpid()}.partial")
    with open(partial, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    partial.chmod(0o444)
    os.replace(partial, path)  # atomic: a reader sees the whole file or none
    return digest, path

