"""The shared service as a real process: `kflow serve` on uvicorn on 127.0.0.1, driven with httpx.

Every test starts its own service on a copy of one prepared store (the pilot programme, loaded
with `kflow` itself, and tokens for anna, ole and kl-sek) and stops it with SIGTERM: the service
must leave with exit code 0 within a few seconds, and no token's secret may appear in what it
wrote. The service runs with KFLOW_USER=kl-sek in its environment (serving the store is the
secretariat's), so an act recorded as anyone but the token's person would show.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import ssl
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate
from servers import free_port, self_signed
from sqlalchemy import update
from support import ROOT, wait_for

from konkurrence_flow.calendar import local_date, parse_instant
from konkurrence_flow.http import MAX_BODY
from konkurrence_flow.store import Store
from konkurrence_flow.tokens import T_TOKEN, real_now

NOW = "2007-09-20"
"""The service's clock: the pilot's tenders are in scoping, to be approved by the end of Q3."""
PEOPLE = ("anna", "ole", "kl-sek")
STOP_WITHIN = 5.0
"""Seconds a SIGTERM'd service may take to leave."""


# -- the store and the tokens, made with kflow itself ----------------------------------------------


def kflow(url: str, *args: str, user: str = "kl-sek", now: str = NOW) -> str:
    """Run `kflow` on the store at `url` as `user`; its stdout (it must succeed)."""
    env = {**os.environ, "KFLOW_DB": url, "KFLOW_USER": user, "KFLOW_NOW": now,
           "PYTHONPATH": str(ROOT)}  # fmt: skip
    done = subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


@dataclass(frozen=True)
class Token:
    id: str
    text: str

    @property
    def secret(self) -> str:
        return self.text.split("_", 2)[2]


@dataclass(frozen=True)
class Network:
    """A store of the pilot programme and one token per person."""

    url: str
    tokens: dict[str, Token]

    def store(self) -> Store:
        return Store(self.url)


@pytest.fixture(scope="session")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Network:
    """The pilot store, made once as the secretariat would: init, definitions, programme, tokens."""
    db = tmp_path_factory.mktemp("service") / "kflow.db"
    url = f"sqlite:///{db}"
    kflow(url, "init")
    kflow(url, "definitions", "load", "definitions/")
    kflow(url, "programme", "load", "workflows/pilot-2007.yaml", now="2007-06-01")
    made = {p: json.loads(kflow(url, "token", "create", p, "--json")) for p in PEOPLE}
    return Network(url, {p: Token(m["id"], m["token"]) for p, m in made.items()})


def copy_of(network: Network, folder: Path) -> Network:
    """The network with a copy of its store in `folder` (the tokens are the same)."""
    source = Path(network.url.removeprefix("sqlite:///"))
    for path in source.parent.glob(source.name + "*"):  # the WAL too, if one is left
        shutil.copy(path, folder / path.name)
    return Network(f"sqlite:///{folder / source.name}", network.tokens)


@pytest.fixture
def network(prepared: Network, tmp_path: Path) -> Network:
    """A copy of the prepared store for one test."""
    return copy_of(prepared, tmp_path)


# -- the service ------------------------------------------------------------------------------------


@dataclass
class Service:
    """A running `kflow serve`, its output going to `log`."""

    network: Network
    process: subprocess.Popen[bytes]
    port: int
    log: Path
    certificate: Path | None = None
    exit_code: int | None = field(default=None)

    @property
    def base(self) -> str:
        return f"{'https' if self.certificate else 'http'}://127.0.0.1:{self.port}"

    @property
    def verify(self) -> ssl.SSLContext | bool:
        """What a client trusts: the service's own certificate, when it serves HTTPS."""
        if self.certificate is None:
            return True
        return ssl.create_default_context(cafile=str(self.certificate))

    def client(self, person: str | None = None, source: str | None = None) -> httpx.Client:
        """A client under /api/v1 with `person`'s token, from `source` (a loopback address)."""
        headers = {"Authorization": f"Bearer {self.network.tokens[person].text}"} if person else {}
        transport = httpx.HTTPTransport(local_address=source, verify=self.verify)
        return httpx.Client(base_url=f"{self.base}/api/v1", headers=headers, timeout=60,
                            transport=transport)  # fmt: skip

    def history(self, tender: str) -> list[dict[str, Any]]:
        with self.client("kl-sek") as client:
            answer = client.get(f"/tenders/{tender}/history")
        assert answer.status_code == 200, answer.text
        return list(answer.json())

    def stop(self) -> str:
        """SIGTERM; the service must leave cleanly and soon. What it wrote."""
        if self.exit_code is None:
            started = time.monotonic()
            self.process.send_signal(signal.SIGTERM)
            self.exit_code = self.process.wait(timeout=30)
            took = time.monotonic() - started
            assert self.exit_code == 0, self.log.read_text("utf-8")
            assert took < STOP_WITHIN, f"SIGTERM took {took:.1f} s"
        return self.log.read_text("utf-8")


@contextmanager
def running(
    network: Network, folder: Path, *options: str, now: str = NOW, tls: bool = False
) -> Iterator[Service]:
    """`kflow --now NOW serve --host 127.0.0.1 --port <free> OPTIONS` (`tls`: with a certificate
    of its own), up once /healthz answers; stopped after (cleanly, and no token's secret in what
    it wrote)."""
    certificate, tls_options = _certificate(folder) if tls else (None, [])
    port, log = free_port(), folder / f"serve-{time.monotonic_ns()}.log"
    env = {**os.environ, "KFLOW_DB": network.url, "KFLOW_USER": "kl-sek", "PYTHONPATH": str(ROOT)}
    env.pop("KFLOW_NOW", None)
    cmd = [sys.executable, str(ROOT / "cli.py"), "--now", now, "serve", "--host", "127.0.0.1",
           "--port", str(port), *tls_options, *options]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, env=env, cwd=folder, stdout=out, stderr=subprocess.STDOUT)
    service = Service(network, process, port, log, certificate)
    try:
        wait_for(lambda: _healthy(service), seconds=60)
    except BaseException:
        process.kill()
        process.wait()
        raise
    yield service
    written = service.stop()
    for token in network.tokens.values():
        assert token.secret not in written


def _certificate(folder: Path) -> tuple[Path, list[str]]:
    """A self-signed certificate for 127.0.0.1, and the `serve` options that use it."""
    certificate = self_signed(folder)[1]
    return certificate, ["--ssl-certfile", str(certificate), "--ssl-keyfile",
                         str(folder / "key.pem")]  # fmt: skip


def _healthy(service: Service) -> bool:
    if service.process.poll() is not None:
        raise AssertionError(f"kflow serve left early:\n{service.log.read_text('utf-8')}")
    try:
        answer = httpx.get(f"{service.base}/api/v1/healthz", timeout=5, verify=service.verify)
        return answer.status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture
def start_service(network: Network, tmp_path: Path) -> Iterator[Callable[..., Service]]:
    """Start services on the test's store; each is stopped after the test."""
    with ExitStack() as stack:

        def start(*options: str, now: str = NOW, tls: bool = False) -> Service:
            return stack.enter_context(running(network, tmp_path, *options, now=now, tls=tls))

        yield start


@pytest.fixture
def service(start_service: Callable[..., Service]) -> Service:
    """The API alone (`--no-scheduler`), its clock at NOW, for one test."""
    return start_service("--no-scheduler")


@pytest.fixture(scope="module")
def refusing(prepared: Network, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """One service shared by the tests whose every request is refused (with a good token)."""
    folder = tmp_path_factory.mktemp("refusing")
    with running(copy_of(prepared, folder), folder, "--no-scheduler") as service:
        yield service


def error_of(answer: httpx.Response, status: int) -> str:
    """The sentence of an `{"error"}` answer with `status`."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert list(body) == ["error"] and isinstance(body["error"], str) and body["error"]
    return str(body["error"])


# -- every endpoint behind a token ----------------------------------------------------------------

ENDPOINTS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/me", None),
    ("GET", "/tenders", None),
    ("POST", "/tenders", {"definition": "individual-tender", "title": "Madservice"}),
    ("GET", "/tenders/AAR-SUND-01", None),
    ("GET", "/tenders/AAR-SUND-01/history", None),
    ("POST", "/tenders/AAR-SUND-01/advance", {"trigger": "approve_scope"}),
    ("POST", "/tenders/AAR-SUND-01/facts", {"facts": {"bidders": 3}}),
    ("GET", "/overdue", None),
    ("GET", "/forecast?until=2008-06-30", None),
    ("GET", "/plan", None),
    ("GET", "/effects", None),
    ("GET", "/programmes", None),
    ("GET", "/programmes/pilot-2007", None),
    ("GET", "/notifications", None),
    ("POST", "/notifications/1/retry", None),
    ("POST", "/tenders/AAR-SUND-01/files", None),
    ("GET", "/tenders/AAR-SUND-01/files", None),
    ("GET", "/files/1", None),
    ("GET", "/files/1/content", None),
    ("GET", "/materials/search?q=madservice", None),
    ("GET", "/materials/recent", None),
]


# -- starting and stopping ---------------------------------------------------------------------------


def test_healthz_answers_without_a_token(service: Service) -> None:
    """/healthz needs no token and reports the store's schema revision."""
    answer = httpx.get(f"{service.base}/api/v1/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"ok": True, "revision": "r7"}


def test_sigterm_stops_the_service_cleanly(service: Service) -> None:
    """SIGTERM: uvicorn shuts down gracefully and the process leaves with 0 within seconds."""
    log = service.stop()
    assert "Shutting down" in log and "Finished server process" in log
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{service.base}/api/v1/healthz", timeout=2)


def test_the_service_serves_https_with_its_own_certificate(
    start_service: Callable[..., Service],
) -> None:
    """--ssl-certfile/--ssl-keyfile: the API over HTTPS, a token accepted; plain HTTP is not
    answered on that port."""
    service = start_service("--no-scheduler", tls=True)
    assert service.base.startswith("https://")
    with service.client("anna") as anna:
        assert anna.get("/me").json()["id"] == "anna"
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{service.port}/api/v1/healthz", timeout=5)


# -- authentication ----------------------------------------------------------------------------------


def bad_tokens(network: Network) -> dict[str, dict[str, str]]:
    """Authorization headers that authenticate nobody: none, malformed, unknown id, wrong secret."""
    anna = network.tokens["anna"]
    secret = anna.secret
    wrong = ("A" if secret[0] != "A" else "B") + secret[1:]
    return {
        "none": {},
        "malformed": {"Authorization": f"Bearer {anna.text}x"},
        "not bearer": {"Authorization": f"Basic {anna.text}"},
        "unknown id": {"Authorization": f"Bearer kf_000000000000_{secret}"},
        "wrong secret": {"Authorization": f"Bearer kf_{anna.id}_{wrong}"},
    }


def test_every_endpoint_refuses_a_missing_or_bad_token(service: Service) -> None:
    """Every endpoint but /healthz answers 401 `{"error"}` to no token, a malformed one, an unknown
    id and a wrong secret; neither the answer nor the service's log repeats a token's text.

    Each endpoint is asked from its own loopback address, so the limit on failed
    authentications per address does not intervene."""
    bad = bad_tokens(service.network)
    for number, (method, path, body) in enumerate(ENDPOINTS, start=10):
        with service.client(source=f"127.0.0.{number}") as client:
            for kind, headers in bad.items():
                answer = client.request(method, path, json=body, headers=headers)
                message = error_of(answer, 401)
                assert answer.headers["www-authenticate"] == "Bearer", (kind, path)
                assert "kf_" + service.network.tokens["anna"].id not in message
                assert all(h.split("_", 2)[-1] not in answer.text for h in headers.values())
    log = service.stop()
    assert log.count("authentication failed") == len(ENDPOINTS) * len(bad)
    assert "client='127.0.0.10'" in log
    for headers in bad.values():
        for text in headers.values():
            assert text.split("_", 2)[-1] not in log


def test_a_revoked_token_is_refused_at_once(service: Service) -> None:
    """`kflow token revoke` on the server's store: the next request with that token gets 401."""
    with service.client("anna") as anna:
        assert anna.get("/me").json()["id"] == "anna"
        kflow(service.network.url, "token", "revoke", service.network.tokens["anna"].id)
        message = error_of(anna.get("/me"), 401)
        assert "revoked" in message
        error_of(anna.post("/tenders/AAR-SUND-01/advance", json={"trigger": "approve_scope"}), 401)
    assert len(service.history("AAR-SUND-01")) == 1


def test_an_expired_token_is_refused(service: Service) -> None:
    """A token works through its last day (`--expires` today) and not after: the same token with
    its last day moved to yesterday in the store gets 401."""
    today = local_date(real_now())
    made = json.loads(kflow(service.network.url, "token", "create", "anna", "--expires",
                            today.isoformat(), "--json"))  # fmt: skip
    headers = {"Authorization": f"Bearer {made['token']}"}
    with service.client() as client:
        assert client.get("/me", headers=headers).json()["id"] == "anna"
        store = service.network.store()
        with store.engine.begin() as conn:
            conn.execute(update(T_TOKEN).where(T_TOKEN.c.id == made["id"])
                         .values(expires=today - timedelta(days=1)))  # fmt: skip
        store.engine.dispose()
        message = error_of(client.get("/me", headers=headers), 401)
    assert "expired" in message and made["token"] not in message


def test_ten_failed_authentications_from_one_address_then_429(service: Service) -> None:
    """After 10 failed authentications from one address, it gets 429 with Retry-After, even with
    a good token; another address is not affected."""
    with service.client(source="127.0.0.2") as client:
        for _ in range(10):
            error_of(client.get("/me", headers={"Authorization": "Bearer nonsense"}), 401)
        refused = client.get("/me", headers={"Authorization": "Bearer nonsense"})
        error_of(refused, 429)
        assert int(refused.headers["retry-after"]) > 0
        good = {"Authorization": f"Bearer {service.network.tokens['anna'].text}"}
        error_of(client.get("/me", headers=good), 429)
    with service.client("anna", source="127.0.0.3") as other:
        assert other.get("/me").status_code == 200


# -- who acts ----------------------------------------------------------------------------------------

NAMING_HEADERS = {
    "X-User": "kl-sek", "X-Kflow-User": "kl-sek", "X-Forwarded-User": "kl-sek",
    "X-Remote-User": "kl-sek", "Remote-User": "kl-sek", "X-Actor": "kl-sek", "From": "kl-sek",
}  # fmt: skip
NAMING_PARAMS = {"user": "kl-sek", "KFLOW_USER": "kl-sek", "actor": "kl-sek", "person": "kl-sek"}


def test_headers_and_parameters_naming_someone_else_are_ignored(service: Service) -> None:
    """Headers and query parameters naming the secretariat change nothing: anna is who acts (the
    history records her), the outbox stays closed to her, and /me says anna."""
    with service.client("anna") as anna:
        me = anna.get("/me", headers=NAMING_HEADERS, params=NAMING_PARAMS)
        assert me.json()["id"] == "anna"
        moved = anna.post("/tenders/AAR-SUND-01/advance", json={"trigger": "approve_scope"},
                          headers=NAMING_HEADERS, params=NAMING_PARAMS)  # fmt: skip
        assert moved.status_code == 200, moved.text
        error_of(anna.get("/notifications", headers=NAMING_HEADERS, params=NAMING_PARAMS), 403)
    last = service.history("AAR-SUND-01")[-1]
    assert (last["trigger"], last["actor"]) == ("approve_scope", "anna")


@pytest.mark.parametrize("name", ["actor", "user", "person", "as", "on_behalf_of"])
def test_a_body_naming_an_actor_is_malformed(refusing: Service, name: str) -> None:
    """A body with a field naming who acts is a 400, and nothing happens."""
    before = refusing.history("AAR-SUND-01")
    with refusing.client("anna") as anna:
        body = {"trigger": "approve_scope", name: "kl-sek"}
        assert name in error_of(anna.post("/tenders/AAR-SUND-01/advance", json=body), 400)
        facts = {"facts": {"bidders": 3}, name: "kl-sek"}
        error_of(anna.post("/tenders/AAR-SUND-01/facts", json=facts), 400)
    assert refusing.history("AAR-SUND-01") == before


def test_a_leader_of_another_municipality_is_forbidden(service: Service) -> None:
    """Ole (Odense) may not act on an Aarhus tender: 403, and its history is unchanged."""
    before = service.history("AAR-SUND-01")
    with service.client("ole") as ole:
        advance = ole.post("/tenders/AAR-SUND-01/advance", json={"trigger": "approve_scope"})
        assert "ole" in error_of(advance, 403)
        error_of(ole.post("/tenders/AAR-SUND-01/facts", json={"facts": {"bidders": 3}}), 403)
        assert ole.post("/tenders/ODE-BESK-01/advance",
                        json={"trigger": "approve_scope"}).status_code == 200  # fmt: skip
    assert service.history("AAR-SUND-01") == before


def test_the_outbox_is_the_secretariats(service: Service) -> None:
    """The notification outbox: 403 for a project leader, 200 for the secretariat."""
    with service.client("anna") as anna:
        assert "secretariat" in error_of(anna.get("/notifications"), 403)
        error_of(anna.post("/notifications/1/retry"), 403)
    with service.client("kl-sek") as sek:
        answer = sek.get("/notifications")
        assert answer.status_code == 200 and isinstance(answer.json(), list)


# -- refusals ----------------------------------------------------------------------------------------


def test_unknown_things_are_404(service: Service) -> None:
    """An unknown tender, programme or path: 404 `{"error"}`."""
    with service.client("anna") as anna:
        assert "NOPE-01" in error_of(anna.get("/tenders/NOPE-01"), 404)
        error_of(anna.get("/tenders/NOPE-01/history"), 404)
        error_of(anna.post("/tenders/NOPE-01/advance", json={"trigger": "approve_scope"}), 404)
        error_of(anna.post("/tenders/NOPE-01/facts", json={"facts": {"bidders": 3}}), 404)
        error_of(anna.get("/programmes/nope"), 404)
        error_of(anna.get("/no-such-endpoint"), 404)
        error_of(anna.delete("/tenders/AAR-SUND-01"), 405)


def test_a_refused_transition_is_409_and_changes_nothing(service: Service) -> None:
    """A trigger the state does not allow: 409 naming the allowed ones; the history and the
    tender's state and facts as before.

    (The tender's `version` may move: what time owed it by now, a reminder, is committed before
    any act, refused or not, as a tick would.)"""
    with service.client("anna") as anna:
        before = anna.get("/tenders/AAR-SUND-01").json(), service.history("AAR-SUND-01")
        refused = anna.post("/tenders/AAR-SUND-01/advance", json={"trigger": "publish"})
        assert "allowed: approve_scope, cancel" in error_of(refused, 409)
        after = anna.get("/tenders/AAR-SUND-01").json(), service.history("AAR-SUND-01")
    assert after[1] == before[1]
    assert {**after[0], "version": None} == {**before[0], "version": None}


MALFORMED: list[tuple[str, str, Any]] = [
    ("POST", "/tenders/AAR-SUND-01/advance", b'{"trigger": '),
    ("POST", "/tenders/AAR-SUND-01/advance", b"\xff\xfe not json"),
    ("POST", "/tenders/AAR-SUND-01/advance", {"trigger": 5}),
    ("POST", "/tenders/AAR-SUND-01/advance", {"trigger": None}),
    ("POST", "/tenders/AAR-SUND-01/advance", {}),
    ("POST", "/tenders/AAR-SUND-01/advance", ["approve_scope"]),
    ("POST", "/tenders/AAR-SUND-01/advance", {"trigger": "approve_scope", "at": "yesterday"}),
    ("POST", "/tenders/AAR-SUND-01/advance", {"trigger": "approve_scope", "facts": [1, 2]}),
    ("POST", "/tenders/AAR-SUND-01/facts", {"facts": {"bidders": [3]}}),
    ("POST", "/tenders/AAR-SUND-01/facts", {"facts": {"bidders": {"n": 3}}}),
    ("POST", "/tenders", {"definition": "individual-tender", "title": "Madservice", "id": 7}),
    (
        "POST",
        "/tenders",
        {"definition": "individual-tender", "title": "M", "municipalities": "751"},
    ),
    ("GET", "/forecast", None),
    ("GET", "/forecast?until=someday", None),
    ("GET", "/forecast?until=Q4 9999", None),  # a quarter past the dates Python has: not a 500
    ("GET", "/forecast?until=end of Q4 9999", None),
    ("GET", "/notifications?status=lost", None),
    ("POST", "/notifications/one/retry", None),
]


@pytest.mark.parametrize(("method", "path", "body"), MALFORMED)
def test_malformed_requests_are_400(refusing: Service, method: str, path: str, body: Any) -> None:
    """Malformed JSON, wrong types, missing or unknown fields, bad parameters: 400 `{"error"}`."""
    before = refusing.history("AAR-SUND-01")
    with refusing.client("anna") as anna:
        if isinstance(body, bytes):
            answer = anna.request(method, path, content=body,
                                  headers={"Content-Type": "application/json"})  # fmt: skip
        else:
            answer = anna.request(method, path, json=body)
        error_of(answer, 400)
    assert refusing.history("AAR-SUND-01") == before


def _padded(size: int) -> bytes:
    """A valid advance body of exactly `size` bytes (blanks after the JSON)."""
    body = b'{"trigger": "publish"}'
    return body + b" " * (size - len(body))


def _chunks(data: bytes) -> Iterator[bytes]:
    """`data` in 4 KiB pieces: httpx sends a generator chunked, without a Content-Length."""
    for start in range(0, len(data), 4096):
        yield data[start : start + 4096]


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_over_64_kib_is_413(refusing: Service, chunked: bool) -> None:
    """A body of 64 KiB + 1 byte is refused with 413, announced by Content-Length or streamed
    chunked without one; a body of exactly 64 KiB is read (and refused by the domain: 409)."""
    headers = {"Content-Type": "application/json"}
    with refusing.client("anna") as anna:
        for size, status in ((MAX_BODY + 1, 413), (MAX_BODY, 409), (10 * MAX_BODY, 413)):
            body = _padded(size)
            content = _chunks(body) if chunked else body
            answer = anna.post("/tenders/AAR-SUND-01/advance", content=content, headers=headers)
            assert ("content-length" in answer.request.headers) is not chunked
            message = error_of(answer, status)
            if status == 413:
                assert str(MAX_BODY) in message


@pytest.mark.parametrize("raw", ["NaN", "Infinity", "-Infinity", "1e999", '"NaN"', '"inf"'])
def test_facts_that_are_not_finite_numbers_are_refused(refusing: Service, raw: str) -> None:
    """NaN and infinities (JSON extensions, an overflowing number, or their words) are no fact:
    400 on /facts and on /advance, and the tender's facts are unchanged."""
    headers = {"Content-Type": "application/json"}
    with refusing.client("anna") as anna:
        before = anna.get("/tenders/AAR-SUND-01").json()
        facts = f'{{"facts": {{"contract_value": {raw}}}}}'.encode()
        error_of(anna.post("/tenders/AAR-SUND-01/facts", content=facts, headers=headers), 400)
        advance = f'{{"trigger": "approve_scope", "facts": {{"contract_value": {raw}}}}}'.encode()
        error_of(anna.post("/tenders/AAR-SUND-01/advance", content=advance, headers=headers), 400)
        after = anna.get("/tenders/AAR-SUND-01").json()
    assert after == before
    assert not any(isinstance(v, float) and not math.isfinite(v) for v in after["facts"].values())


# -- the OpenAPI document -----------------------------------------------------------------------------

ISSUE_ENDPOINTS = {
    ("get", "/api/v1/healthz"), ("get", "/api/v1/me"), ("get", "/api/v1/tenders"),
    ("post", "/api/v1/tenders"), ("get", "/api/v1/tenders/{tender_id}"),
    ("get", "/api/v1/tenders/{tender_id}/history"), ("post", "/api/v1/tenders/{tender_id}/advance"),
    ("post", "/api/v1/tenders/{tender_id}/facts"), ("get", "/api/v1/overdue"),
    ("get", "/api/v1/forecast"), ("get", "/api/v1/effects"), ("get", "/api/v1/programmes/{name}"),
    ("get", "/api/v1/notifications"),
}  # fmt: skip
BEYOND_THE_ISSUE = {
    ("get", "/api/v1/plan"), ("get", "/api/v1/programmes"),
    ("post", "/api/v1/notifications/{note_id}/retry"),
}  # fmt: skip
MATERIALS = {
    ("post", "/api/v1/tenders/{tender_id}/files"), ("get", "/api/v1/tenders/{tender_id}/files"),
    ("get", "/api/v1/files/{file_id}"), ("get", "/api/v1/files/{file_id}/content"),
    ("get", "/api/v1/materials/search"), ("get", "/api/v1/materials/recent"),
}  # fmt: skip
"""Issue 15's: the materials bank."""


def test_the_openapi_document_is_served_and_valid(service: Service) -> None:
    """/openapi.json (no token) is a valid OpenAPI document listing every endpoint of issue 11
    (and the three the CLI needs besides); the token tests above ask each one."""
    answer = httpx.get(f"{service.base}/openapi.json")
    assert answer.status_code == 200
    document = answer.json()
    validate(document)
    listed = {(m, p) for p, ops in document["paths"].items() for m in ops}
    assert listed == ISSUE_ENDPOINTS | BEYOND_THE_ISSUE | MATERIALS
    assert len(ENDPOINTS) == len(listed) - 1  # all but /healthz


def test_the_openapi_document_says_what_the_service_answers(service: Service) -> None:
    """The document declares the bearer token on every endpoint but /healthz, and the errors as
    sent: `{"error"}` with 400 (never FastAPI's unused 422), 401, 403, 404, 409, 413 and 429."""
    document = httpx.get(f"{service.base}/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    assert schemes == {"bearer": {"type": "http", "scheme": "bearer"}}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            statuses = set(operation["responses"])
            assert "422" not in statuses, (method, path)
            if path == "/api/v1/healthz":
                assert "security" not in operation and statuses == {"200"}
                continue
            assert operation["security"] == [{"bearer": []}], (method, path)
            assert statuses >= {"400", "401", "403", "404", "409", "413", "429"}, (method, path)
    error = document["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    advance = document["paths"]["/api/v1/tenders/{tender_id}/advance"]["post"]["responses"]
    assert advance["409"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }


# -- concurrency --------------------------------------------------------------------------------------


def test_a_hundred_clients_advancing_one_tender_at_once_one_wins(service: Service) -> None:
    """100 clients fire approve_scope on one tender at the same moment: exactly one 200, every
    other a 409, no 500; the history holds the transition once."""
    clients = 100
    barrier, answers, lock = threading.Barrier(clients), [], threading.Lock()

    def fire() -> None:
        with service.client("anna") as anna:
            barrier.wait(timeout=60)
            answer = anna.post("/tenders/AAR-SUND-01/advance", json={"trigger": "approve_scope"})
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=fire) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    statuses = Counter(a.status_code for a in answers)
    odd = [a.text for a in answers if a.status_code not in (200, 409)]
    assert statuses == {200: 1, 409: clients - 1}, odd
    for refused in (a for a in answers if a.status_code == 409):
        error_of(refused, 409)
    events = [e for e in service.history("AAR-SUND-01") if e["trigger"] == "approve_scope"]
    assert len(events) == 1 and events[0]["actor"] == "anna"


# -- the scheduler in the service ---------------------------------------------------------------------


def test_the_service_runs_the_scheduler_on_its_clock(
    network: Network, start_service: Callable[..., Service]
) -> None:
    """Without --no-scheduler the service ticks on its own clock: started two seconds before a
    tender's tender period expires (--interval 1), it closes the bidding as `system` soon after;
    then SIGTERM stops it cleanly."""
    kflow(network.url, "advance", "AAR-SUND-01", "approve_scope", user="anna", now="2007-09-20")
    kflow(network.url, "advance", "AAR-SUND-01", "publish", user="anna", now="2007-10-01")
    shown = json.loads(kflow(network.url, "tender", "show", "AAR-SUND-01", "--json"))
    assert (shown["state"], shown["timer_trigger"]) == ("publication", "close_bidding")
    timer_at = parse_instant(shown["timer_at"])
    service = start_service("--interval", "1", now=(timer_at - timedelta(seconds=2)).isoformat())

    def closed() -> bool:
        return service.history("AAR-SUND-01")[-1]["trigger"] == "close_bidding"

    wait_for(closed, seconds=30)
    last = service.history("AAR-SUND-01")[-1]
    assert (last["kind"], last["actor"], last["dest"]) == ("timer", "system", "award")
    assert parse_instant(last["occurred_at"]) == timer_at
    log = service.stop()
    assert "scheduler stopped in the service" in log
