"""A real SFTP server on localhost (asyncssh), serving one folder: what the demo and the tests fetch from.

It stands in for a province's own server: password login for one user, a fresh host key, the folder
as the root the client sees. It runs its event loop in a background thread so that the synchronous
code under test (the SFTP hook) talks to it exactly as it would to a remote host.
"""
from __future__ import annotations

import asyncio
import json
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh

logging.getLogger("asyncssh").setLevel(logging.WARNING)   # it logs every SFTP request at INFO

USER = "province"


class _Server(asyncssh.SSHServer):
    def __init__(self, password: str):
        self._password = password

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return username == USER and password == self._password


@dataclass
class LocalSftpServer:
    """`with LocalSftpServer(folder) as server:` ... `server.connection_uri()` for AIRFLOW_CONN_<ID>."""
    root: Path
    password: str = "province-secret"
    sftp_server_class: type = asyncssh.SFTPServer     # tests pass a subclass to misbehave on purpose
    port: int = 0
    host_key: asyncssh.SSHKey = field(init=False)

    def __post_init__(self):
        self.root = Path(self.root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.host_key = asyncssh.generate_private_key("ssh-ed25519")
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="cop-local-sftp", daemon=True)
        self._listener = None

    def start(self) -> "LocalSftpServer":
        self._thread.start()
        self._listener = asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(timeout=30)
        self.port = self._listener.get_port()
        return self

    async def _listen(self):
        root, server_class = str(self.root), self.sftp_server_class
        return await asyncssh.listen(
            "127.0.0.1", self.port, server_host_keys=[self.host_key],
            server_factory=lambda: _Server(self.password),
            sftp_factory=lambda channel: server_class(channel, chroot=root), allow_scp=False)

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.close()
            asyncio.run_coroutine_threadsafe(self._listener.wait_closed(), self._loop).result(timeout=30)
            self._listener = None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)

    def __enter__(self) -> "LocalSftpServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def public_host_key(self) -> str:
        """'ssh-ed25519 AAAA...': what the connection's `host_key` extra pins."""
        return self.host_key.export_public_key().decode().strip()

    def connection_uri(self, password: str | None = None) -> str:
        """An Airflow connection (JSON form) for this server, with its host key pinned."""
        return json.dumps({"conn_type": "sftp", "host": "127.0.0.1", "port": self.port, "login": USER,
                           "password": self.password if password is None else password,
                           "extra": {"host_key": self.public_host_key}})
