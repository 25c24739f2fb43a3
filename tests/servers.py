"""Real servers on 127.0.0.1 for the notification tests: SMTP (aiosmtpd) and HTTP (http.server)."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@contextmanager
def kflow_serve(env: Mapping[str, str]) -> Iterator[str]:
    """`kflow serve --no-scheduler` on a free port of 127.0.0.1 with `env` added to ours, on a
    clock that stands still (`--speed 1e-12`); its URL once /healthz answers. Stopped with
    SIGTERM after, and it must exit cleanly."""
    from support import ROOT, wait_for

    port = free_port()
    given = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
             **env}  # fmt: skip
    given.pop("KFLOW_URL", None)
    cmd = [sys.executable, str(ROOT / "cli.py"), "serve", "--no-scheduler", "--port", str(port),
           "--speed", "1e-12"]  # fmt: skip
    process = subprocess.Popen(cmd, env=given, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: answers_healthz(url, process), seconds=30)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        _, log = process.communicate(timeout=30)
    assert process.returncode == 0, log.decode()


def answers_healthz(url: str, process: subprocess.Popen[bytes]) -> bool:
    """Has the `kflow serve` at `url` come up? (It must not have exited meanwhile.)"""
    assert process.poll() is None, "kflow serve exited while starting"
    try:
        with urllib.request.urlopen(f"{url}/api/v1/healthz", timeout=1) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Inbox:
    """What an SMTP server received: (envelope recipients, parsed message) pairs.

    `hold_first`: the first mail's DATA waits (the sender blocked mid-send) until `release` is
    set; `holding` says it has arrived. `refuse`: answer every DATA with this reply instead.
    """

    def __init__(self, hold_first: bool = False) -> None:
        self.messages: list[tuple[list[str], Message]] = []
        self.lock = threading.Lock()
        self.refuse: str | None = None
        self.holding, self.release = threading.Event(), threading.Event()
        self._hold = hold_first

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse is not None:
            return self.refuse
        if self._hold:
            self._hold = False
            self.holding.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 60)
        with self.lock:
            content = message_from_bytes(envelope.content, policy=policy.default)
            self.messages.append((list(envelope.rcpt_tos), content))
        return "250 Message accepted for delivery"

    def keys(self) -> list[str]:
        """Every dedupe key received: a mail lists each of its notices' in an X-Kflow-Key."""
        with self.lock:
            return [str(k) for _, m in self.messages for k in m.get_all("X-Kflow-Key", [])]


class SmtpServer:
    """A real SMTP server on 127.0.0.1 that can be stopped and started again on the same port."""

    def __init__(
        self,
        port: int | None = None,
        user: str | None = None,
        password: str = "",
        tls: ssl.SSLContext | None = None,
        hold_first: bool = False,
    ) -> None:
        self.port = port or free_port()
        self.inbox = Inbox(hold_first)
        self.user, self.password, self.tls = user, password, tls
        self._controller: Controller | None = None

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                      auth_data: Any) -> AuthResult:  # fmt: skip
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login.decode() == self.user and auth_data.password.decode() == self.password
        )
        return AuthResult(success=ok, handled=False)

    def start(self) -> SmtpServer:
        options: dict[str, Any] = {}
        if self.user:
            options = {"authenticator": self._authenticate, "auth_require_tls": False}
        if self.tls is not None:
            options.update(tls_context=self.tls, require_starttls=True)
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port, **options)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def url(self) -> str:
        auth = f"{self.user}:{self.password}@" if self.user else ""
        starttls = "?starttls=1" if self.tls is not None else ""
        return f"smtp://{auth}127.0.0.1:{self.port}{starttls}"


def self_signed(folder: Path) -> tuple[ssl.SSLContext, Path]:
    """A server TLS context for 127.0.0.1 and the certificate file a client must trust."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context, cert_file


class WebhookServer:
    """A real HTTP server on 127.0.0.1 that records JSON posts and answers with `status`."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.status = 200
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                body = json.loads(self.rfile.read(length))
                if outer.status < 300:
                    outer.posts.append({"headers": dict(self.headers), "json": body})
                self.send_response(outer.status)
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> WebhookServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks/udbud"
