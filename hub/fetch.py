"""Pull a province's return from its own server (SFTP or HTTPS) into the intake, never taking a file twice.

One call, `fetch_province`, per province and run: connect with the Airflow provider hook named by the
source's connection, find the month's files, take the complete ones the ledger has not seen, submit
their bytes to the intake (channel `sftp` / `https`, the same engine as every other door) and write
down what happened: each file in the run's journal (hub.run_review), the look at the source in
`audit.source_checks`, each file examined in the ledger `audit.source_fetches`.

Failures are classified by whether retrying can help. `SourceUnavailable` (host unreachable, server
too slow, a file vanishing or changing mid-download, a server error) makes the Airflow task retry;
`RetryCannotHelp` (wrong credentials, permission denied, a missing folder or connection) fails it at
once (hub.dag_defaults). A listing with no matching file is not a failure: the source is reachable
and nothing is published yet, which is what the deadline reminders then say.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import hashlib
import json
import logging
import posixpath
import socket
from dataclasses import asdict, dataclass, field
from html.parser import HTMLParser
from urllib.parse import unquote, urljoin, urlsplit

from hub.run_review import FileOutcome, record_file, run_dir
from cop.sources import Source

log = logging.getLogger(__name__)
CHUNK = 64 * 1024
UNREACHABLE_KINDS = ("unreachable", "slow", "connection lost", "server error")


class FetchFailure(Exception):
    """The source could not be read; `kind` names the failure, the message says it in plain words."""
    retry_helps = False

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


class SourceUnavailable(FetchFailure):
    """Unreachable, slow, a file changing under us, a server error: a later attempt may well succeed."""
    retry_helps = True


class RetryCannotHelp(FetchFailure):
    """Wrong credentials, permission denied, a missing folder or connection: someone must fix something."""


@dataclass
class RemoteFile:
    path: str                          # remote path (SFTP) or endpoint (HTTPS): the ledger's key
    name: str
    period: str
    size: int | None = None
    modified_at: dt.datetime | None = None
    etag: str | None = None


@dataclass
class Download:
    content: bytes
    size: int
    modified_at: dt.datetime | None
    etag: str | None


@dataclass
class FetchReport:
    """What one look at a province's source found: the per-province entry of the run review."""
    province: str
    source: str
    channel: str
    periods: list[str]
    state: str = "nothing published"  # fetched | nothing new | nothing published | waiting | refused | failed
    message: str = ""
    failure_kind: str | None = None
    retry_helps: bool | None = None
    taken: list[str] = field(default_factory=list)
    checked_at: str = field(default_factory=lambda: _now().isoformat(timespec="seconds"))

    @property
    def reachable(self) -> bool:
        return self.state != "failed"

    def sentence(self) -> str:
        return f"{self.source}: {self.state}: {self.message}"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


# ---------------------------------------------------------------- SFTP (apache-airflow-providers-sftp)


class SftpSource:
    def __init__(self, source: Source):
        from airflow.providers.sftp.hooks.sftp import SFTPHook

        self.source = source
        self.hook = SFTPHook(ssh_conn_id=source.connection, conn_timeout=int(source.timeout_seconds),
                             conn_retry_attempts=1)
        self.where = f"the SFTP server of connection '{source.connection}'"
        self._connection = contextlib.ExitStack()
        self.client = None

    def __enter__(self) -> "SftpSource":
        self.client = _sftp_call(self, "connect",
                                 lambda: self._connection.enter_context(self.hook.get_managed_conn()))
        self.where = f"the SFTP server {self.hook.remote_host}:{self.hook.port}"
        self.client.get_channel().settimeout(self.source.timeout_seconds)
        return self

    def __exit__(self, *exc) -> None:
        self._connection.close()

    def candidates(self, periods: list[str]) -> tuple[list[RemoteFile], list[str], list[str]]:
        """(complete files of the months, every name listed, why some matching names must wait)."""
        folder = self.source.folder
        entries = _sftp_call(self, f"list the folder {folder}", lambda: self.client.listdir_attr(folder))
        names = {entry.filename for entry in entries}
        found, waiting = [], []
        for entry in entries:
            for period in periods:
                if not self.source.name_matches(entry.filename, period):
                    continue
                modified = dt.datetime.fromtimestamp(entry.st_mtime, tz=dt.timezone.utc)
                not_ready = self._not_complete(entry.filename, modified, names)
                if not_ready:
                    waiting.append(not_ready)
                    continue
                found.append(RemoteFile(posixpath.join(folder, entry.filename), entry.filename, period,
                                        entry.st_size, modified))
        return found, sorted(names), waiting

    def _not_complete(self, name: str, modified: dt.datetime, names: set[str]) -> str | None:
        if self.source.marker:
            if name + self.source.marker not in names:
                return f"{name} has no completion marker {name + self.source.marker} yet"
            return None
        age = (_now() - modified).total_seconds()
        if age < self.source.settle_seconds:
            return f"{name} changed {age:.0f} s ago (still being written?); taken once unchanged for " \
                   f"{self.source.settle_seconds} s"
        return None

    def download(self, remote: RemoteFile, limit: int) -> Download:
        what = f"download {remote.path}"

        def read() -> bytes:
            with self.client.open(remote.path, "rb") as handle:
                return _read_capped(handle.read, limit)

        content = _sftp_call(self, what, read, name=remote.name)
        after = _sftp_call(self, f"check {remote.path} after the download", lambda: self.client.stat(remote.path),
                           name=remote.name)
        modified = dt.datetime.fromtimestamp(after.st_mtime, tz=dt.timezone.utc)
        if len(content) != after.st_size or after.st_size != remote.size or modified != remote.modified_at:
            raise SourceUnavailable("changed", f"{remote.name} changed on {self.where} while it was being downloaded "
                                               f"({remote.size} bytes listed, {len(content)} read, {after.st_size} "
                                               "now); it is taken on a later attempt, once it stops changing")
        return Download(content, len(content), modified, None)

    def after_taken(self, remote: RemoteFile) -> str:
        if not self.source.move_to:
            return ""
        target = posixpath.join(self.source.move_to, remote.name)
        try:
            self.client.rename(remote.path, target)
        except OSError as exc:
            return f"could not move it to {self.source.move_to} on the server ({exc}); left in place"
        return f"moved to {target} on the server"


def _read_capped(read, limit: int) -> bytes:
    chunks, total = [], 0
    while chunk := read(CHUNK):
        total += len(chunk)
        if total > limit:
            raise _TooLarge(total)
        chunks.append(chunk)
    return b"".join(chunks)


class _NotPublished(Exception):
    """A per-month address that does not exist (yet)."""


class _TooLarge(Exception):
    def __init__(self, size: int):
        super().__init__(size)
        self.size = size


def _sftp_call(remote: SftpSource, what: str, call, name: str = ""):
    """Run one SFTP step, turning what paramiko and the OS raise into a plain, classified failure
    (`name`: the file the step reads, whose disappearance is a change upstream, not a configuration error)."""
    import paramiko

    conn = remote.source.connection
    try:
        return call()
    except _TooLarge:
        raise
    except paramiko.AuthenticationException as exc:
        raise RetryCannotHelp("credentials", f"{remote.where} refused the login of connection '{conn}' ({exc}); "
                                             "fix the user name, password or key in that Airflow connection") from exc
    except paramiko.BadHostKeyException as exc:
        raise RetryCannotHelp("host key", f"{remote.where} presented a host key that is not the one pinned in "
                                          f"connection '{conn}'; confirm the new key with the province before "
                                          "changing the connection") from exc
    except PermissionError as exc:
        raise RetryCannotHelp("permission", f"permission denied: cannot {what} on {remote.where} with the account "
                                            f"of connection '{conn}'; ask the province to grant read access") from exc
    except FileNotFoundError as exc:
        if name:
            raise SourceUnavailable("vanished", f"{name} vanished from {remote.where} while it was being "
                                                "downloaded (replaced or removed by the province); tried again on "
                                                "a later attempt") from exc
        raise RetryCannotHelp("missing folder", f"cannot {what} on {remote.where}: it does not exist; check "
                                                "`folder` in the sources file with the province") from exc
    except (TimeoutError, socket.timeout) as exc:
        raise SourceUnavailable("slow", f"{remote.where} stopped answering for {remote.source.timeout_seconds:g} s "
                                        f"while trying to {what}; tried again later") from exc
    except (paramiko.SSHException, OSError, EOFError) as exc:
        if what == "connect":
            raise SourceUnavailable("unreachable", f"cannot reach {_sftp_host(remote)}: {exc}; the province's "
                                                   "server or the network is down, tried again later") from exc
        raise SourceUnavailable("connection lost", f"the connection to {remote.where} broke while trying to "
                                                   f"{what}: {exc}; tried again later") from exc


def _sftp_host(remote: SftpSource) -> str:
    host = getattr(remote.hook, "remote_host", None)
    return f"the SFTP server {host}:{remote.hook.port}" if host else remote.where


# ---------------------------------------------------------------- HTTPS (apache-airflow-providers-http)


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs += [value for key, value in attrs if key == "href" and value]


class HttpsSource:
    def __init__(self, source: Source, ledger_lookup):
        from airflow.providers.http.hooks.http import HttpHook

        self.source = source
        self.hook = HttpHook(method="GET", http_conn_id=source.connection)
        self.where = f"the web server of connection '{source.connection}'"
        self._last_seen = ledger_lookup

    def __enter__(self) -> "HttpsSource":
        return self

    def __exit__(self, *exc) -> None:
        return None

    def _get(self, endpoint: str, what: str, headers: dict | None = None):
        import requests

        try:
            response = self.hook.run(endpoint, headers=headers or {}, extra_options={
                "check_response": False, "stream": True, "timeout": self.source.timeout_seconds})
        except Exception as exc:
            _raise_if_connection_missing(exc, self.source)
            if isinstance(exc, requests.Timeout):
                raise SourceUnavailable("slow", f"{self._host()} did not answer within "
                                                f"{self.source.timeout_seconds:g} s to {what}; tried again later") from exc
            if isinstance(exc, requests.ConnectionError):
                raise SourceUnavailable("unreachable", f"cannot reach {self._host()} to {what}: "
                                                       f"{_root_cause(exc)}; tried again later") from exc
            raise
        self.where = self._host()
        return response

    def _host(self) -> str:
        base = getattr(self.hook, "base_url", "") or ""
        return f"the web server {base}" if base else self.where

    def _check_status(self, response, what: str) -> None:
        conn, status = self.source.connection, response.status_code
        if status == 401:
            raise RetryCannotHelp("credentials", f"{self.where} refused the credentials of connection '{conn}' "
                                                 f"(HTTP 401) to {what}; fix them in that Airflow connection")
        if status == 403:
            raise RetryCannotHelp("permission", f"permission denied (HTTP 403): {self.where} does not let the "
                                                f"account of connection '{conn}' {what}; ask the province")
        if status >= 500:
            raise SourceUnavailable("server error", f"{self.where} failed (HTTP {status}) to {what}; tried again later")
        if status >= 400:
            raise RetryCannotHelp("not found", f"{self.where} answered HTTP {status} to {what}; check the address in "
                                               "the sources file")

    def candidates(self, periods: list[str]) -> tuple[list[RemoteFile], list[str], list[str]]:
        if self.source.url:
            found = [RemoteFile(self.source.url.format(period=p), posixpath.basename(self.source.url.format(period=p)),
                                p) for p in periods]
            return found, [f.name for f in found], []
        response = self._get(self.source.listing, f"read the listing {self.source.listing}")
        self._check_status(response, f"read the listing {self.source.listing}")
        parser = _Links()
        parser.feed(response.text)
        found, names = [], []
        for href in parser.hrefs:
            target = urljoin(self.source.listing, href)
            if urlsplit(href).netloc or not target.startswith(self.source.listing):
                continue
            name = unquote(posixpath.basename(urlsplit(target).path))
            names.append(name)
            found += [RemoteFile(urlsplit(target).path, name, p) for p in periods
                      if self.source.name_matches(name, p)]
        return found, sorted(set(names)), []

    def download(self, remote: RemoteFile, limit: int) -> Download | None:
        """The file's bytes, or None when it has not changed since the ledger's copy (HTTP 304)."""
        import requests
        import urllib3

        what = f"download {remote.path}"
        response = self._get(remote.path, what, headers=self._validators(remote))
        if response.status_code == 304:
            return None
        if response.status_code == 404 and self.source.url:
            raise _NotPublished()
        self._check_status(response, what)
        declared = int(response.headers.get("Content-Length") or 0)
        if declared > limit:
            raise _TooLarge(declared)
        try:
            content = _read_capped(response.raw.read, limit)
        except urllib3.exceptions.ReadTimeoutError as exc:
            raise SourceUnavailable("slow", f"{self.where} stopped sending {remote.name} for "
                                            f"{self.source.timeout_seconds:g} s; tried again later") from exc
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise SourceUnavailable("vanished", f"the download of {remote.name} from {self.where} broke off "
                                                f"({_root_cause(exc)}); tried again later") from exc
        if declared and len(content) != declared:
            raise SourceUnavailable("vanished", f"the download of {remote.name} from {self.where} broke off after "
                                                f"{len(content)} of {declared} bytes; tried again later")
        return Download(content, len(content), _http_date(response.headers.get("Last-Modified")),
                        response.headers.get("ETag"))

    def _validators(self, remote: RemoteFile) -> dict:
        last = self._last_seen(remote.path)
        headers = {}
        if last and last.get("etag"):
            headers["If-None-Match"] = last["etag"]
        if last and last.get("modified_at"):
            headers["If-Modified-Since"] = email.utils.format_datetime(
                last["modified_at"].astimezone(dt.timezone.utc), usegmt=True)
        return headers

    def after_taken(self, remote: RemoteFile) -> str:
        return ""


def _http_date(text: str | None) -> dt.datetime | None:
    try:
        return email.utils.parsedate_to_datetime(text) if text else None
    except (TypeError, ValueError):
        return None


def _root_cause(exc: BaseException) -> str:
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__
    return str(exc) or type(exc).__name__


# ---------------------------------------------------------------- the ledger


def _last_seen(conn, province: str, remote_path: str) -> dict | None:
    row = conn.execute("select size_bytes, modified_at, etag, sha256, status from audit.source_fetches "
                       "where province_code = %s and remote_path = %s order by fetch_id desc limit 1",
                       (province, remote_path)).fetchone()
    return dict(zip(("size", "modified_at", "etag", "sha256", "status"), row)) if row else None


def _already_taken(conn, province: str, remote: RemoteFile) -> bool:
    """Same path, size and modification time as a file the ledger already holds (SFTP listings)."""
    if remote.size is None or remote.modified_at is None:
        return False
    return conn.execute("select 1 from audit.source_fetches where province_code = %s and remote_path = %s "
                        "and size_bytes = %s and modified_at = %s limit 1",
                        (province, remote.path, remote.size, remote.modified_at)).fetchone() is not None


def _write_ledger(conn, source: Source, remote: RemoteFile, status: str, size: int | None,
                  modified_at: dt.datetime | None, etag: str | None = None, sha256: str | None = None,
                  submission_id: int | None = None, note: str | None = None) -> None:
    conn.execute("insert into audit.source_fetches (province_code, channel, remote_path, period, size_bytes, "
                 "modified_at, etag, sha256, status, submission_id, note) "
                 "values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                 (source.province, source.channel, remote.path, f"{remote.period}-01", size, modified_at, etag,
                  sha256, status, submission_id, note))


def _record_check(conn, report: FetchReport, run_id: str | None) -> None:
    conn.execute("insert into audit.source_checks (province_code, channel, checked_at, state, failure_kind, message, "
                 "periods, run_id) values (%s, %s, %s, %s, %s, %s, %s, %s)",
                 (report.province, report.channel, report.checked_at, report.state, report.failure_kind,
                  report.message, report.periods, run_id))


# ---------------------------------------------------------------- fetching a province


def _raise_if_connection_missing(exc: Exception, source: Source) -> None:
    if type(exc).__name__ == "AirflowNotFoundException":
        raise RetryCannotHelp("connection", f"the Airflow connection '{source.connection}' is not defined; add it "
                                            f"(in the CLI: AIRFLOW_CONN_{source.connection.upper()})") from exc


def _client(source: Source, conn):
    try:
        if source.kind == "sftp":
            return SftpSource(source)
        return HttpsSource(source, lambda path: _last_seen(conn, source.province, path))
    except Exception as exc:
        _raise_if_connection_missing(exc, source)
        raise


def fetch_province(source: Source, periods: list[str], dag_id: str, run_id: str) -> FetchReport:
    """Look at the source once, take every new complete file of `periods`; never raises FetchFailure
    (the report carries it, with `retry_helps`), so the caller still handles the drop folder."""
    from cop import db
    from cop.security import LOADER_ROLE

    report = FetchReport(source.province, source.describe(), source.channel, list(periods))
    with db.connect_as(LOADER_ROLE) as conn:
        try:
            if periods:
                _fetch(source, periods, dag_id, run_id, conn, report)
            else:
                report.message = "outside the schedule window of every month: nothing to look for today"
        except FetchFailure as failure:
            report.state, report.failure_kind, report.retry_helps = "failed", failure.kind, failure.retry_helps
            report.message = str(failure)
        _record_check(conn, report, run_id)
        conn.commit()
    _write_report(report, dag_id, run_id)
    return report


def _fetch(source: Source, periods: list[str], dag_id: str, run_id: str, conn, report: FetchReport) -> None:
    from cop.spec import load_form

    limit = load_form().limits.max_file_bytes
    with _client(source, conn) as remote:
        found, names, waiting = remote.candidates(periods)
        results = []
        for item in sorted(found, key=lambda f: (f.modified_at or _now(), f.name)):
            result, outcome = ("seen", None) if _already_taken(conn, source.province, item) else \
                _take(remote, source, item, limit, conn)
            conn.commit()
            if outcome is not None:
                record_file(dag_id, run_id, outcome)
            results.append((item.name, result))
    _conclude(report, source, periods, results, names, waiting)


def _conclude(report: FetchReport, source: Source, periods: list[str], results: list[tuple[str, str]],
              names: list[str], waiting: list[str]) -> None:
    """The look at the source in one state and one sentence."""
    def named(kind: str) -> list[str]:
        return [name for name, result in results if result == kind]

    report.taken = named("taken")
    months = ", ".join(periods)
    if report.taken:
        report.state, report.message = "fetched", f"took {', '.join(report.taken)}"
    elif named("refused"):
        report.state, report.message = "refused", f"refused {', '.join(named('refused'))} (see the file's reason)"
    elif named("seen") or named("unchanged"):
        report.state = "nothing new"
        report.message = f"the files for {months} were taken earlier and have not changed " \
                         f"({', '.join(named('seen') + named('unchanged'))})"
    elif waiting:
        report.state, report.message = "waiting", "; ".join(waiting)
    else:
        listed = [n for n in names if n not in named("missing")]
        shown = ", ".join(listed[:10]) + (f" and {len(listed) - 10} more" if len(listed) > 10 else "")
        report.state = "nothing published"
        report.message = f"the source answered but has no file for {months} yet" + (
            f" (it holds: {shown}; none matches {source.files})" if shown and source.files else "")
    if waiting and report.state != "waiting":
        report.message += "; waiting: " + "; ".join(waiting)


def _take(remote, source: Source, item: RemoteFile, limit: int, conn) -> tuple[str, FileOutcome | None]:
    """Download one file and submit it: ('taken', outcome), ('refused', outcome), ('unchanged', None) when its
    bytes are those the ledger already has, ('missing', None) when a per-month address does not exist yet."""
    if item.size is not None and item.size > limit:
        return "refused", _refuse_too_large(source, item, item.size, limit, conn)
    try:
        download = remote.download(item, limit)
    except _TooLarge as exc:
        return "refused", _refuse_too_large(source, item, exc.size, limit, conn)
    except _NotPublished:
        return "missing", None
    if download is None:
        return "unchanged", None
    digest = hashlib.sha256(download.content).hexdigest()
    last = _last_seen(conn, source.province, item.path)
    if last and last["sha256"] == digest:
        _write_ledger(conn, source, item, "unchanged", download.size, download.modified_at, download.etag, digest)
        return "unchanged", None
    outcome = _submit(source, item, download)
    note = remote.after_taken(item)
    if note:
        outcome.note = f"{outcome.note}; {note}"
    _write_ledger(conn, source, item, "submitted", download.size, download.modified_at, download.etag, digest,
                  outcome.submission_id, note or None)
    return "taken", outcome


def _submit(source: Source, item: RemoteFile, download: Download) -> FileOutcome:
    from hub.inbox import receipt_outcome
    from loaders.intake import submit_file

    received_at = min(download.modified_at or _now(), _now())
    receipt = submit_file(download.content, item.name, source.province, item.period,
                          submitted_by=f"{source.province}-{source.channel}", channel=source.channel,
                          received_at=received_at)
    return receipt_outcome(receipt, item.name, note=f"fetched over {source.kind.upper()} from {item.path}")


def _refuse_too_large(source: Source, item: RemoteFile, size: int, limit: int, conn) -> FileOutcome:
    reason = (f"not fetched: the file is {size / 1e6:.1f} MB, the largest return accepted is {limit / 1e6:.1f} MB "
              f"(spec/form.yaml limits); ask the province to check the export, a monthly return is far smaller")
    _write_ledger(conn, source, item, "refused", size, item.modified_at, note=reason)
    return FileOutcome(file_name=item.name, province=source.province, period=item.period, verdict="refused",
                       received_at=_now().isoformat(timespec="seconds"), note=reason)


# ---------------------------------------------------------------- what the review and the CLI read


def _report_path(dag_id: str, run_id: str, province: str):
    return run_dir(dag_id, run_id) / "provinces" / f"{province}.fetch.json"


def _write_report(report: FetchReport, dag_id: str, run_id: str) -> None:
    _report_path(dag_id, run_id, report.province).write_text(json.dumps(asdict(report), ensure_ascii=False), "utf-8")


def recorded_fetch(dag_id: str, run_id: str, province: str) -> dict | None:
    path = _report_path(dag_id, run_id, province)
    return json.loads(path.read_text("utf-8")) if path.exists() else None


def last_checks(conn) -> dict[str, dict]:
    """The latest look at each province's source, and the latest file taken from it."""
    rows = conn.execute(
        "select distinct on (province_code) province_code, checked_at, state, failure_kind, message "
        "from audit.source_checks order by province_code, check_id desc").fetchall()
    checks = {r[0]: dict(zip(("checked_at", "state", "failure_kind", "message"), r[1:])) for r in rows}
    for province, remote_path, fetched_at in conn.execute(
            "select distinct on (province_code) province_code, remote_path, fetched_at from audit.source_fetches "
            "where status = 'submitted' order by province_code, fetch_id desc"):
        checks.setdefault(province, {})["last_taken"] = f"{remote_path} at {fetched_at:%Y-%m-%d %H:%M} UTC"
    return checks


def reminder_note(conn, province: str, period: str) -> str:
    """What the deadline reminder says about an overdue province's source."""
    last = conn.execute("select checked_at, state, failure_kind, message from audit.source_checks "
                        "where province_code = %s order by check_id desc limit 1", (province,)).fetchone()
    if last is None:
        return "its source has not been checked yet"
    checked_at, state, kind, message = last
    if state == "failed":
        since = unreachable_since(conn, province)
        what = "source unreachable" if kind in UNREACHABLE_KINDS else f"source refusing the hub ({kind})"
        return f"{what} since {since:%Y-%m-%d %H:%M} UTC: {message}"
    if state in ("nothing published", "waiting"):
        return f"source reachable, nothing published yet for {period} (checked {checked_at:%Y-%m-%d %H:%M} UTC)"
    return f"source reachable (checked {checked_at:%Y-%m-%d %H:%M} UTC): {state}: {message}"


def unreachable_since(conn, province: str) -> dt.datetime | None:
    """When the current run of failed looks at the source began (None when the last look succeeded)."""
    row = conn.execute(
        "select min(checked_at) from audit.source_checks where province_code = %s and state = 'failed' and "
        "check_id > coalesce((select max(check_id) from audit.source_checks where province_code = %s "
        "and state <> 'failed'), 0)", (province, province)).fetchone()
    return row[0] if row else None
