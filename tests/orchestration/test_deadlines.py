"""Reporting deadlines: which month is overdue for whom, the reminder report, and the reminder mail
(sent to a real SMTP conversation on 127.0.0.1)."""
from __future__ import annotations

import datetime as dt
import socketserver
import threading

import pytest

from hub import deadlines
from hub.deadlines import MissingUnit, ProvinceDeadline


@pytest.mark.parametrize("due_day,today,period", [
    (10, dt.date(2025, 5, 10), dt.date(2025, 3, 1)),   # due at the end of the 10th: April not yet overdue
    (10, dt.date(2025, 5, 11), dt.date(2025, 4, 1)),
    (15, dt.date(2025, 5, 11), dt.date(2025, 3, 1)),
    (10, dt.date(2026, 1, 11), dt.date(2025, 12, 1)),
])
def test_the_month_looked_at_is_the_latest_overdue_one(due_day, today, period):
    assert deadlines.period_due_by(due_day, today) == period


def test_with_no_submission_every_province_is_not_reported(database_url):
    # 2016: a month no test of the session submits returns for (the session's database is shared).
    report = deadlines.check_deadlines(dt.date(2016, 5, 20))
    assert [p.status for p in report.provinces] == ["not reported"] * 7
    sindh = next(p for p in report.provinces if p.province == "SD")
    assert (sindh.period, sindh.due_date, sindh.days_overdue) == ("2016-04", "2016-05-10", 10)
    assert sindh.expected_units > 100
    path = deadlines.write_reminder_report(report)
    assert "**not reported**: SD (Sindh) 2016-04" in path.read_text()
    assert (path.parent / "reminders.html").is_file() and (path.parent / "reminders.json").is_file()


def _deadline(days_overdue: int, missing: int = 2, version: int | None = 1) -> ProvinceDeadline:
    return ProvinceDeadline("IC", "Islamabad Capital Territory", "2025-04", "2025-05-10", days_overdue, 27, 25,
                            version, 0, [MissingUnit(f"IC-ISB-00{i}", f"PS {i}", "ISB") for i in range(missing)])


def test_reminders_go_out_the_day_after_the_due_date_then_weekly():
    assert [d for d in range(1, 30) if deadlines.is_reminder_day(_deadline(d))] == [1, 8, 15, 22, 29]
    assert not deadlines.is_reminder_day(_deadline(1, missing=0))


class _Mailbox(socketserver.StreamRequestHandler):
    """Just enough SMTP to receive one conversation."""
    received: list[str] = []

    def handle(self) -> None:
        self.wfile.write(b"220 localhost test\r\n")
        while line := self.rfile.readline():
            command = line.decode().strip().upper()
            if command.startswith("EHLO") or command.startswith("HELO"):
                self.wfile.write(b"250 localhost\r\n")
            elif command == "DATA":
                self.wfile.write(b"354 go on\r\n")
                body = []
                while (data := self.rfile.readline()) not in (b".\r\n", b""):
                    body.append(data.decode())
                self.received.append("".join(body))
                self.wfile.write(b"250 queued\r\n")
            elif command == "QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


def test_reminder_mail_is_sent_only_when_smtp_is_configured(monkeypatch):
    report = deadlines.ReminderReport("2025-05-11", [_deadline(1), _deadline(3)])
    monkeypatch.delenv("COP_SMTP_URL", raising=False)
    assert deadlines.send_reminders(report) == []
    with socketserver.TCPServer(("127.0.0.1", 0), _Mailbox) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        monkeypatch.setenv("COP_SMTP_URL", f"smtp://127.0.0.1:{server.server_address[1]}")
        monkeypatch.setenv("COP_MAIL_FROM", "cop-warehouse@example.org")
        monkeypatch.setenv("COP_REMINDER_TO", "focal@example.org")
        monkeypatch.setenv("COP_REMINDER_TO_IC", "ict-police@example.org")
        _Mailbox.received = []
        mailed = deadlines.send_reminders(report)
        server.shutdown()
    assert mailed == ["IC"], "only the deadline whose reminder day it is"
    message = _Mailbox.received[0]
    assert "To: focal@example.org, ict-police@example.org" in message
    assert "IC-ISB-000 PS 0 (ISB)" in message
