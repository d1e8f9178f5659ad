"""Untrusted files are read and judged in a child process, never in the process that serves people.

Why a process and not a thread: a crafted file can make a parser allocate without bound or crash in
native code (an abort takes the whole process with it, portal and all), and Great Expectations'
objects are not safe to share between threads (two files validated at once saw each other's rows).
So each verdict runs in a child of its own, forked from a forkserver that has already imported and
warmed the validation stack (loaders.verdict_preload), under an address-space limit and a deadline.
The worst a file can do is be rejected; the parallelism of concurrent uploads is real (both cores).

    run_isolated(target, *args, answers={"history": fetch}) -> target(ask, *args), run in a child

`ask(name)` lets the child fetch a value that only the parent can produce (the history query runs on
the parent's database connection while the child reads the file), without the child ever holding a
connection of its own.
"""
from __future__ import annotations

import contextlib
import gc
import multiprocessing
import multiprocessing.forkserver
import os
import resource
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

MEMORY_ENV = "COP_VERDICT_MEMORY_MB"
TIMEOUT_ENV = "COP_VERDICT_TIMEOUT_SECONDS"
WORKERS_ENV = "COP_VERDICT_WORKERS"
DEFAULT_MEMORY_MB = 2048        # per verdict, above what the warmed child already maps
DEFAULT_TIMEOUT_SECONDS = 120
# Not "__main__": Python's forkserver would not import it anyway (prepare_children says why).
PRELOAD_MODULES = ["loaders.verdict_preload"]

_context = multiprocessing.get_context("forkserver")
_context.set_forkserver_preload(PRELOAD_MODULES)
_slots_lock = threading.Lock()
_slots: threading.BoundedSemaphore | None = None
_warm = False


@dataclass(frozen=True)
class Limits:
    memory_bytes: int
    timeout_seconds: float

    @classmethod
    def from_environment(cls) -> "Limits":
        memory_mb = int(os.environ.get(MEMORY_ENV) or DEFAULT_MEMORY_MB)
        timeout = float(os.environ.get(TIMEOUT_ENV) or DEFAULT_TIMEOUT_SECONDS)
        return cls(memory_bytes=memory_mb * 1024 * 1024, timeout_seconds=timeout)


class ChildFailed(Exception):
    """The child did not finish: it ran out of its memory or time, or died. `kind` says which."""

    def __init__(self, kind: str, detail: str):
        super().__init__(detail)
        self.kind = kind  # memory | timeout | crashed


def workers() -> int:
    """How many verdicts run at once in this process (the rest wait): memory is bounded by this x the limit."""
    return max(1, int(os.environ.get(WORKERS_ENV) or os.cpu_count() or 1))


def start_soon() -> None:
    """Start the forkserver and return at once: it imports and warms the validation stack (seconds, most
    of them Great Expectations' import) on the other core while the caller does its own imports and reads.
    The first verdict then waits only for what is left of that."""
    multiprocessing.forkserver.ensure_running()


def start() -> None:
    """Start the forkserver now and wait until it is warm (it imports Great Expectations and builds every
    province's suite), so that the first verdict, and whatever the caller holds meanwhile, does not wait."""
    global _warm
    if not _warm:
        # A file's deadline is not the server's: its start takes seconds, more than a tight verdict limit.
        limits = Limits.from_environment()
        run_isolated(_nothing, limits=Limits(limits.memory_bytes, max(limits.timeout_seconds, DEFAULT_TIMEOUT_SECONDS)))
        _warm = True


def run_isolated(target: Callable[..., Any], *args: Any, answers: dict[str, Callable[[], Any]] | None = None,
                 limits: Limits | None = None) -> Any:
    """target(ask, *args) in a fresh child under `limits`; its exceptions are raised here as they were there."""
    limits = limits or Limits.from_environment()
    with _slot():
        parent_end, child_end = _context.Pipe()
        process = _context.Process(target=_child_main, args=(child_end, target, args, limits.memory_bytes),
                                    daemon=True, name=f"cop-verdict-{getattr(target, '__name__', 'call')}")
        process.start()
        child_end.close()
        try:
            return _serve(process, parent_end, answers or {}, time.monotonic() + limits.timeout_seconds, limits)
        finally:
            parent_end.close()
            if process.is_alive():
                process.kill()
            process.join()


@contextlib.contextmanager
def _slot():
    global _slots
    with _slots_lock:
        if _slots is None:
            _slots = threading.BoundedSemaphore(workers())
    with _slots:
        yield


def _serve(process, connection, answers: dict[str, Callable[[], Any]], deadline: float, limits: Limits) -> Any:
    """Answer the child's questions until it sends its result, dies, or runs out of time."""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not connection.poll(remaining):
            raise ChildFailed("timeout", f"not finished within {limits.timeout_seconds:g} seconds")
        try:
            kind, value = connection.recv()
        except (EOFError, OSError):
            process.join(5)
            raise ChildFailed(*_death(process.exitcode, limits)) from None
        if kind == "ask":
            connection.send(("answer", answers[value]()))
        elif kind == "result":
            return value
        elif kind == "raised":
            raise value
        elif kind == "memory":
            raise ChildFailed("memory", f"needed more than the {limits.memory_bytes // 2**20:,} MB allowed")


def _death(exit_code: int | None, limits: Limits) -> tuple[str, str]:
    if exit_code is not None and exit_code < 0:
        name = signal.Signals(-exit_code).name
        if -exit_code in (signal.SIGABRT, signal.SIGKILL):  # native allocators abort when the limit is hit
            return "memory", (f"stopped by {name}, most likely on needing more than the "
                              f"{limits.memory_bytes // 2**20:,} MB allowed")
        return "crashed", f"stopped by {name}"
    return "crashed", f"ended with exit code {exit_code} before answering"


# ---------------------------------------------------------------- in the forkserver


def prepare_children() -> None:
    """In the forkserver, once it has imported and warmed everything its children need.

    The children do not run the parent's main module again. Python's forkserver means to import __main__
    once for all of them ("__main__" in the preload list), but up to 3.13 it never receives the main's
    path, so each child ran the parent's main script before its verdict: the `cop` command, the portal or
    the bench re-imported per file (0.3 s to 1 s). The children need nothing from it: every target lives
    in an importable module, which the child imports by name when it unpickles the target.

    The server's objects are frozen out of the garbage collector: a child's collections then leave the
    pages it shares with the server alone (a collection writes to every object it visits, and each page
    written is copied), instead of walking ~300,000 objects several times per verdict."""
    from multiprocessing import spawn

    prepare = spawn.prepare

    def prepare_without_main(data: dict) -> None:
        prepare({key: value for key, value in data.items() if not key.startswith("init_main_from")})

    spawn.prepare = prepare_without_main
    gc.freeze()


# ---------------------------------------------------------------- in the child


def _child_main(connection, target: Callable[..., Any], args: tuple, memory_bytes: int) -> None:
    _limit_resources(memory_bytes)

    def ask(name: str) -> Any:
        connection.send(("ask", name))
        return connection.recv()[1]

    try:
        message = ("result", target(ask, *args))
    except MemoryError:
        message = ("memory", None)
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent, which decides
        message = ("raised", _picklable(exc))
    try:
        connection.send(message)
    except MemoryError:
        connection.send(("memory", None))
    connection.close()


def _limit_resources(memory_bytes: int) -> None:
    """Address space: what the warmed child already maps plus the allowance. No core files."""
    mapped = int(Path("/proc/self/statm").read_text().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    resource.setrlimit(resource.RLIMIT_AS, (mapped + memory_bytes, mapped + memory_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _picklable(exc: BaseException) -> BaseException:
    import pickle

    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:  # noqa: BLE001 - some library exceptions cannot cross a process boundary
        return RuntimeError(f"{type(exc).__name__}: {exc}")


def _nothing(ask: Callable[[str], Any]) -> None:
    return None
