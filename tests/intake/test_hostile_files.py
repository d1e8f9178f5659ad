"""No file can crash, jam or fool the intake: every file of the hostile corpus (hostile_files.py) gets its
own specific problem through the real entry point, a handful are submitted for real and change nothing,
and odd but genuine files are still read. Whatever the bytes, the reader raises nothing but ReadError."""
from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from cop.spec import load_amendment, load_form
from hostile_files import BASE, GENUINE_VARIANTS, HOSTILE, good_csv, package, parts
from intake_files import submit
from loaders.reading import ReadError, read_table

pytestmark = pytest.mark.xdist_group("intake_hostile_files")  # one module, one worker: one database

MONTH = dt.date(2025, 3, 1)
SUBMITTED_FOR_REAL = ("sheet part named .bin, stray far cell", "bad CRC on the sheet", "overlapping members",
                      "shared-strings bomb", "NUL byte in a UTF-8 CSV", "giant CSV cell")


def test_the_corpus_is_large_enough():
    assert len(HOSTILE) >= 60


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_file_gets_its_specific_problem(case):
    build, rule, phrase = HOSTILE[case]
    receipt = submit(build(MONTH), BASE, MONTH, dry_run=True)
    assert receipt.status == "rejected", receipt.summary
    matching = [p for p in receipt.errors if p.rule == rule and phrase in p.message]
    assert matching, f"expected {rule} with {phrase!r}, got {[(p.rule, p.message) for p in receipt.errors[:3]]}"
    assert "reader failed" not in matching[0].message


@pytest.mark.parametrize("case", SUBMITTED_FOR_REAL)
def test_hostile_submission_is_recorded_and_loads_nothing(case, conn, fresh_month, raw_snapshot):
    build, rule, phrase = HOSTILE[case]
    before = raw_snapshot()
    receipt = submit(build(fresh_month), BASE, fresh_month)
    assert receipt.status == "rejected", receipt.summary
    assert raw_snapshot() == before
    stored = conn.execute("select status from raw.submissions where submission_id = %s",
                          (receipt.submission_id,)).fetchone()
    assert stored == ("rejected",)
    messages = [m for (m,) in conn.execute("select message from audit.problems where submission_id = %s "
                                           "and rule = %s", (receipt.submission_id, rule))]
    assert any(phrase in m for m in messages), messages


@pytest.mark.parametrize("case", list(GENUINE_VARIANTS))
def test_odd_but_genuine_file_is_still_read(case):
    receipt = submit(GENUINE_VARIANTS[case](MONTH), BASE, MONTH, dry_run=True)
    assert receipt.status == "accepted", receipt.summary
    assert receipt.rows == 27


# ---------------------------------------------------------------- any bytes at all


TOKENS = [b"<", b">", b"/>", b"\x00", b"\xff\xfe", b"\xef\xbb\xbf", b'r="XFD1048576"', b' r="ZZZ9999999"',
          b'"r="XFD1"', b'r="xfd9"', b't="s"', b't="d"', b't="n"',
          b"<v>1e308</v>", b"<v>NaN</v>", b"&#0;", b"&#xD800;", b"<!DOCTYPE x>", b'<c r="A1"><v>x</v></c>', b"</row>",
          b'<row r="0">', b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06", b'"', b",", b";", b"\r", b"\n", b"\t"]


def _mutated(data: bytes, edits: list[tuple[int, int, int, int]]) -> bytes:
    """Each edit (kind, position, size, token): overwrite a byte, insert a token, delete or repeat a run."""
    out = bytearray(data)
    for kind, position, size, token in edits:
        at = position % (len(out) + 1)
        if kind == 0 and at < len(out):
            out[at] = size % 256
        elif kind == 1:
            out[at:at] = TOKENS[token % len(TOKENS)]
        elif kind == 2:
            del out[at:at + size]
        else:
            out[at:at] = out[at:at + size]
    return bytes(out)


@pytest.fixture(scope="module")
def originals():
    members = parts(MONTH)
    return {"csv": good_csv(MONTH), "xlsx": package(members), "members": members}


EDITS = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 1 << 20), st.integers(1, 300), st.integers(0, 99)),
                 min_size=1, max_size=6)


@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(["csv", "xlsx", "part"]), part=st.integers(0, 99), edits=EDITS)
def test_reader_raises_nothing_but_read_error(originals, kind, part, edits):
    if kind == "part":  # a mutated part inside a valid archive: reaches calamine's XML parsing
        names = sorted(originals["members"])
        name = names[part % len(names)] if part % 3 else "xl/worksheets/sheet1.xml"
        content = package(originals["members"] | {name: _mutated(originals["members"][name], edits)})
    else:
        content = _mutated(originals[kind], edits)
    try:
        read_table(content, load_amendment(BASE), load_form().limits)
    except ReadError as exc:
        assert "reader failed" not in exc.problem.message, exc.problem.message


def test_a_reader_bug_becomes_a_rejection_not_an_exception(monkeypatch):
    import loaders.reading as reading

    def broken(*args):
        raise IndexError("a bug in the reader")
    monkeypatch.setattr(reading, "_read_csv", broken)
    with pytest.raises(ReadError) as raised:
        read_table(good_csv(MONTH), load_amendment(BASE), load_form().limits)
    assert raised.value.problem.rule == "E001"
    assert "reader failed on it (IndexError)" in raised.value.problem.message


def test_every_part_of_a_genuine_workbook_is_read_once_and_kept_whole():
    # The guard decompresses every member itself: the bytes it checks are the bytes the archive holds.
    from loaders.workbook_package import _unpacked_parts

    content = package(parts(MONTH))
    unpacked = _unpacked_parts(content, load_form().limits)
    archive = zipfile.ZipFile(io.BytesIO(content))
    assert unpacked == {name: archive.read(name) for name in archive.namelist()}
