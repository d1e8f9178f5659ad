"""The verdict's child process (loaders.sandbox): a file's worst case is a rejection, never a dead server.

Each test runs real children forked from the real forkserver, under real rlimits."""
from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import zipfile

import pytest

from cop.fileformats import xlsx_bytes
from loaders.sandbox import ChildFailed, Limits, run_isolated

SMALL = Limits(memory_bytes=256 * 2**20, timeout_seconds=30)


def allocate_python(ask, megabytes: int) -> int:
    return len(bytearray(megabytes * 2**20))


def read_with_calamine_unguarded(ask, content: bytes) -> int:
    """Calamine on a workbook, with none of loaders.reading's guards in front of it."""
    from python_calamine import CalamineWorkbook

    workbook = CalamineWorkbook.from_filelike(io.BytesIO(content))
    return len(workbook.get_sheet_by_name(workbook.sheet_names[0]).to_python(skip_empty_area=False))


def sleep_for(ask, seconds: float) -> None:
    time.sleep(seconds)


def ask_twice(ask, name: str) -> list:
    return [ask(name), ask(name)]


def raise_value_error(ask) -> None:
    raise ValueError("a fault of ours, not of the file")


def own_pid(ask) -> int:
    return os.getpid()


def far_cell_workbook() -> bytes:
    """A 16 KB workbook whose sheet part is not named .xml and has one value in XFD1048576: calamine
    would build a 17-billion-cell grid (it asked for ~512 GB and aborted the portal before)."""
    plain = zipfile.ZipFile(io.BytesIO(xlsx_bytes([("Return", ["a"], [[1]])])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in plain.infolist():
            content = plain.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = content.replace(b"</sheetData>", b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
                                                           b"</sheetData>")
                target.writestr("xl/worksheets/sheet1.bin", content)
                continue
            target.writestr(info, content.replace(b"worksheets/sheet1.xml", b"worksheets/sheet1.bin"))
    return out.getvalue()


def test_a_result_and_the_answers_cross_the_process_boundary():
    calls = []

    def history():
        calls.append(1)
        return {"unit": [1.5, None]}
    assert run_isolated(ask_twice, "history", answers={"history": history}) == [{"unit": [1.5, None]}] * 2
    assert len(calls) == 2
    assert run_isolated(own_pid) != os.getpid()


def test_an_exception_in_the_child_is_raised_in_the_parent():
    with pytest.raises(ValueError, match="a fault of ours"):
        run_isolated(raise_value_error)


def test_python_allocation_over_the_limit_is_a_memory_failure():
    with pytest.raises(ChildFailed) as failure:
        run_isolated(allocate_python, 1024, limits=SMALL)
    assert failure.value.kind == "memory"
    assert run_isolated(allocate_python, 16, limits=SMALL) == 16 * 2**20  # under the limit: fine


def test_a_native_reader_that_aborts_on_a_crafted_file_kills_only_its_child():
    with pytest.raises(ChildFailed) as failure:
        run_isolated(read_with_calamine_unguarded, far_cell_workbook(), limits=SMALL)
    assert failure.value.kind == "memory"
    assert run_isolated(own_pid) > 0  # the forkserver and this process carry on


def test_a_child_over_its_time_is_stopped():
    started = time.monotonic()
    with pytest.raises(ChildFailed) as failure:
        run_isolated(sleep_for, 60, limits=Limits(memory_bytes=SMALL.memory_bytes, timeout_seconds=1))
    assert failure.value.kind == "timeout"
    assert time.monotonic() - started < 30


def test_an_answer_that_fails_in_the_parent_fails_the_call():
    def database_down():
        raise ConnectionError("warehouse unreachable")
    with pytest.raises(ConnectionError):
        run_isolated(ask_twice, "history", answers={"history": database_down})


def test_a_file_that_cannot_be_checked_in_time_is_rejected_and_nothing_is_loaded(monkeypatch, fresh_month,
                                                                                raw_snapshot):
    from intake_files import good_file, submit

    before = raw_snapshot()
    monkeypatch.setenv("COP_VERDICT_TIMEOUT_SECONDS", "0.001")
    receipt = submit(good_file("IC", fresh_month, units=3), "IC", fresh_month)
    assert receipt.status == "rejected"
    assert [p.rule for p in receipt.errors] == ["E008"]
    assert "did not finish in time" in receipt.errors[0].message
    assert raw_snapshot()[:3] == before[:3]
    monkeypatch.delenv("COP_VERDICT_TIMEOUT_SECONDS")
    assert submit(good_file("IC", fresh_month, units=3, seed=1), "IC", fresh_month).status == "accepted"


def test_a_child_does_not_run_the_parents_main_script_again(tmp_path):
    """Python's forkserver had each child run the parent's main script (the `cop` command, the portal, the
    bench) again before its verdict: up to a second per file."""
    runs = tmp_path / "runs.txt"
    script = tmp_path / "front_door.py"
    script.write_text(f"open({str(runs)!r}, 'a').write(__name__ + '\\n')\n"
                      "if __name__ == '__main__':\n"
                      "    from loaders import sandbox\n"
                      "    sandbox.start()\n", encoding="utf-8")
    subprocess.run([sys.executable, str(script)], check=True, timeout=600)
    assert runs.read_text().split() == ["__main__"]
