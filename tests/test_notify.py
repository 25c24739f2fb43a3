"""Notifications over real protocols: SMTP and HTTP servers on 127.0.0.1, retries, exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from servers import SmtpServer, WebhookServer, free_port, self_signed
from support import PILOT_TEXT as PILOT
from support import ROOT, at, empty_postgres, pilot_store, wait_for
from test_messages import MSG_ID

from konkurrence_flow.clock import FixedClock
from konkurrence_flow.errors import InvalidInput
from konkurrence_flow.notify import (
    LEASE,
    MAX_ATTEMPTS,
    RETRY_DELAYS,
    DispatchReport,
    LogChannel,
    Settings,
    SmtpChannel,
    WebhookChannel,
    dispatch,
)
from konkurrence_flow.scheduler import tick
from konkurrence_flow.store import Store
from konkurrence_flow.unit import WITHDRAWN

SENDER = "Konkurrence-flow <noreply@udbudsportalen.example.dk>"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def webhook() -> Iterator[WebhookServer]:
    server = WebhookServer().start()
    yield server
    server.stop()


def test_reminders_arrive_by_smtp_to_the_right_people(smtp: SmtpServer) -> None:
    """Four P14D reminders on 2007-09-16: one mail to each leader, Danish subject, the command."""
    store = pilot_store()
    tick(store, at("2007-09-16"))
    report = dispatch(store, [SmtpChannel(smtp.url, SENDER)], at("2007-09-16T00:05"))
    assert len(report.sent) == 4 and report.retrying == report.failed == []
    by_to = {tuple(rcpt): msg for rcpt, msg in smtp.inbox.messages}
    assert set(by_to) == {("anna.jensen@aarhus.example.dk",), ("ole.hansen@odense.example.dk",),
                          ("mette.larsen@frederiksberg.example.dk",)}  # fmt: skip
    mails = [m for rcpt, m in smtp.inbox.messages if rcpt == ["ole.hansen@odense.example.dk"]]
    (mail,) = mails
    assert mail["Subject"] == ("Påmindelse: ODE-BESK-01 «Behovsafdækning og beslutning om "
                               "udbudsområde» skal være klar senest 2007-09-30")  # fmt: skip
    assert (
        mail["From"] == SENDER
        and mail["X-Kflow-Key"] == "reminder:ODE-BESK-01:1:P14D@2007-09-30:ole"
    )
    body = mail.get_payload(decode=True).decode()
    assert "Udbud: ODE-BESK-01 – Mentorordning for unge ledige" in body
    assert "Frist: 2007-09-30" in body and "kflow advance ODE-BESK-01 approve_scope" in body
    assert {n.status for n in store.notifications()} == {"sent"}


def test_overdue_notices_go_to_every_participants_leader(smtp: SmtpServer) -> None:
    """A joint tender's overdue notice reaches the leader of each participating municipality."""
    joint = PILOT.replace(
        'municipalities: ["461"], leader: ole', 'municipalities: ["461", "751"], leader: ole'
    )
    store = pilot_store(text=joint)
    tick(store, at("2007-10-01"))
    dispatch(store, [SmtpChannel(smtp.url, SENDER)], at("2007-10-01"))
    overdue = [rcpt for rcpt, mail in smtp.inbox.messages
               if any(k.startswith("overdue:ODE-BESK-01:") for k in mail.get_all("X-Kflow-Key"))]  # fmt: skip
    assert sorted(r[0] for r in overdue) == [
        "anna.jensen@aarhus.example.dk",
        "ole.hansen@odense.example.dk",
    ]


def test_smtp_login_with_user_and_password() -> None:
    """smtp://user:password@host:port logs in; a wrong password rests the channel (the settings
    are wrong, not the messages): nothing is sent, no message loses an attempt."""
    server = SmtpServer(user="kflow", password="hemmeligt").start()
    try:
        store = pilot_store()
        tick(store, at("2007-09-16"))
        wrong = SmtpChannel(f"smtp://kflow:forkert@127.0.0.1:{server.port}", SENDER)
        report = dispatch(store, [wrong], at("2007-09-16"))
        assert report.sent == [] and report.retrying == [] and report.failed == []
        assert "login refused (535); check the SMTP user and password" in (report.unreachable or "")
        assert "forkert" not in (report.unreachable or "")
        assert {(n.status, n.attempts) for n in store.notifications()} == {("queued", 0)}
        assert len(dispatch(store, [SmtpChannel(server.url, SENDER)], at("2007-09-17")).sent) == 4
        assert len(server.inbox.keys()) == 4
    finally:
        server.stop()


def test_starttls_with_login(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """?starttls=1: the conversation upgrades to TLS (the server requires it), then logs in."""
    context, cert = self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts the test's certificate
    server = SmtpServer(user="kflow", password="hemmeligt", tls=context).start()
    try:
        store = pilot_store()
        tick(store, at("2007-09-16"))
        plain = SmtpChannel(server.url.replace("?starttls=1", ""), SENDER)
        refused = dispatch(store, [plain], at("2007-09-16"))  # the channel's settings are wrong:
        assert refused.sent == [] and refused.unreachable  # it rests, the messages keep waiting
        report = dispatch(store, [SmtpChannel(server.url, SENDER)], at("2007-09-17"))
        assert len(report.sent) == 4 and len(server.inbox.keys()) == 4
    finally:
        server.stop()


def test_outbox_contract_on_postgresql(postgres_url: str, smtp: SmtpServer) -> None:
    """Queue, claim, send and settle against a real PostgreSQL."""
    empty_postgres(postgres_url)
    store = pilot_store(postgres_url)
    days = ("2007-09-16", "2007-09-27", "2007-10-01")  # P14D and P3D reminders; overdue notices
    assert sum(tick(store, at(day)).notifications for day in days) == 12
    assert tick(store, at("2007-10-01")).notifications == 0
    assert len(dispatch(store, [SmtpChannel(smtp.url, SENDER)], at("2007-10-01")).sent) == 12
    assert sorted(smtp.inbox.keys()) == sorted(n.dedupe_key for n in store.notifications("sent"))
    assert dispatch(store, [SmtpChannel(smtp.url, SENDER)], at("2007-10-02")).sent == []
    store.engine.dispose()


def test_the_webhook_receives_json(webhook: WebhookServer) -> None:
    """An HTTP POST per message with the subject, text, recipient and dedupe key."""
    store = pilot_store()
    tick(store, at("2007-09-16"))
    report = dispatch(store, [WebhookChannel(webhook.url)], at("2007-09-16"))
    assert len(report.sent) == 4 and len(webhook.posts) == 4
    post = next(p for p in webhook.posts if p["json"]["recipient"] == "mette")
    assert post["json"]["kind"] == "reminder" and post["json"]["tender"] == "FRB-SUND-01"
    assert post["json"]["subject"].startswith("Påmindelse: FRB-SUND-01")
    assert "kflow advance FRB-SUND-01 approve_scope" in post["json"]["text"]
    assert post["headers"]["X-Kflow-Key"] == post["json"]["key"]
    assert "claimed_until" not in post["json"]["data"]  # the dispatcher's own business


def test_a_failing_webhook_is_retried_with_growing_delays(webhook: WebhookServer) -> None:
    """500 answers: retried after 1 min, then 10 min; then the server recovers and each arrives once."""
    store = pilot_store()
    tick(store, at("2007-09-16"))
    webhook.status = 500
    first = dispatch(store, [WebhookChannel(webhook.url)], at("2007-09-16"))
    assert len(first.retrying) == 4 and first.retrying[0][2] == at("2007-09-16") + RETRY_DELAYS[0]
    assert dispatch(store, [WebhookChannel(webhook.url)], at("2007-09-16T00:00:30")).retrying == []
    second = dispatch(store, [WebhookChannel(webhook.url)], at("2007-09-16T00:01"))
    assert second.retrying[0][2] == at("2007-09-16T00:01") + RETRY_DELAYS[1]
    webhook.status = 200
    assert dispatch(store, [WebhookChannel(webhook.url)], at("2007-09-16T00:05")).sent == []
    assert len(dispatch(store, [WebhookChannel(webhook.url)], at("2007-09-16T00:11")).sent) == 4
    assert sorted(p["json"]["key"] for p in webhook.posts) == sorted(
        n.dedupe_key for n in store.notifications()
    )


def test_a_webhooks_secret_path_is_never_in_an_error(webhook: WebhookServer) -> None:
    """Chat tools put the secret in the webhook's path: an answer of 404, or no answer at all,
    names the scheme and host, never the path or query, in what the outbox keeps."""
    host = webhook.url.split("/hooks", 1)[0]
    webhook.status = 404
    answered = f"{host}/services/T00/B00/hemmelig?token=xyz"
    silent = f"http://127.0.0.1:{free_port()}/services/T00/B00/hemmelig"  # nothing listens
    errors: list[str] = []
    for url in (answered, silent):
        store = pilot_store()
        tick(store, at("2007-09-16"))
        report = dispatch(store, [WebhookChannel(url)], at("2007-09-16"))
        errors += [n.last_error for n in store.notifications() if n.last_error]
        errors += [report.unreachable] if report.unreachable else []
    assert len(errors) == 5  # four refused messages, and a channel that did not answer
    assert sum(e.startswith(f"the webhook at {host} answered 404 Not Found") for e in errors) == 4
    assert errors[-1].startswith("the webhook at http://127.0.0.1:")
    assert not any("hemmelig" in e or "xyz" in e or "T00" in e for e in errors), errors
    with pytest.raises(InvalidInput) as refused:
        WebhookChannel("ftp://chat.example.dk/hooks/hemmelig")
    assert "hemmelig" not in str(refused.value)


def test_with_the_smtp_server_down_nothing_is_lost() -> None:
    """Down: one line of error, messages wait; back up: every message arrives exactly once."""
    server = SmtpServer(port=free_port())
    store = pilot_store()
    tick(store, at("2007-09-16"))
    channel = [SmtpChannel(server.url, SENDER)]
    down = dispatch(store, channel, at("2007-09-16"))
    assert down.unreachable and "Connection refused" in down.unreachable and down.sent == []
    assert down.retrying == []  # the channel rests; the messages wait, untouched
    assert [n.status for n in store.notifications()] == ["queued"] * 4
    server.start()
    try:
        later = at("2007-09-16") + RETRY_DELAYS[0]
        assert len(dispatch(store, channel, later).sent) == 4
        assert sorted(server.inbox.keys()) == sorted(n.dedupe_key for n in store.notifications())
        assert dispatch(store, channel, later + timedelta(days=1)).sent == []
    finally:
        server.stop()


def test_after_the_last_attempt_a_message_is_failed_with_its_error_and_can_be_resent() -> None:
    """Refused for days: each message tries MAX_ATTEMPTS times, then is failed with the error."""
    server = SmtpServer().start()
    server.inbox.refuse = "451 4.3.0 Mailbox temporarily unavailable"
    store = pilot_store()
    tick(store, at("2007-09-16"))
    channel = [SmtpChannel(server.url, SENDER)]
    when, failed = at("2007-09-16"), []
    try:
        for _ in range(MAX_ATTEMPTS):  # one attempt each per dispatch while the server refuses
            failed += dispatch(store, channel, when).failed
            when += RETRY_DELAYS[-1]
        assert len(failed) == 4 and store.notifications("queued") == []
        for note in store.notifications("failed"):
            assert note.attempts == MAX_ATTEMPTS and "451" in (note.last_error or "")
        first = store.notifications("failed")[0]
        store.retry_notification(first.id, when)
        server.inbox.refuse = None
        assert dispatch(store, channel, when).sent == [first.id]
        assert server.inbox.keys() == [first.dedupe_key]
    finally:
        server.stop()


def test_a_person_without_an_address_fails_at_once() -> None:
    """No email address: failed for good, with the reason; nothing to retry."""
    store = pilot_store(text=PILOT.replace("email: ole.hansen@odense.example.dk", 'email: ""'))
    tick(store, at("2007-09-16"))
    server = SmtpServer().start()
    try:
        report = dispatch(store, [SmtpChannel(server.url, SENDER)], at("2007-09-16"))
    finally:
        server.stop()
    assert report.failed == [(report.failed[0][0], "ole has no email address")]
    assert len(report.sent) == 3


def test_every_channel_gets_each_message_once(smtp: SmtpServer, webhook: WebhookServer) -> None:
    """SMTP and webhook together; a webhook failure re-sends only the webhook's part."""
    store = pilot_store()
    tick(store, at("2007-09-16"))
    webhook.status = 503
    channels = [SmtpChannel(smtp.url, SENDER), WebhookChannel(webhook.url)]
    dispatch(store, channels, at("2007-09-16"))
    webhook.status = 200
    dispatch(store, channels, at("2007-09-16T00:01"))
    assert len(smtp.inbox.keys()) == 4 and len(webhook.posts) == 4
    assert {tuple(n.data["delivered"]) for n in store.notifications()} == {("smtp", "webhook")}


def test_settings_from_environment_and_config_file(tmp_path: Path) -> None:
    """kflow.toml's [notify] table, overridden by KFLOW_* variables; log when nothing else."""
    config = tmp_path / "kflow.toml"
    config.write_text('[notify]\nsmtp_url = "smtp://mail.example.dk:25"\nmail_from = "a@b.dk"\n'
                      'webhook_url = "http://127.0.0.1:9/x"\n')  # fmt: skip
    settings = Settings.load({"KFLOW_CONFIG": str(config)})
    assert (settings.smtp_url, settings.mail_from) == ("smtp://mail.example.dk:25", "a@b.dk")
    assert [c.name for c in settings.channels()] == ["smtp", "webhook"]
    env = {
        "KFLOW_CONFIG": str(config),
        "KFLOW_SMTP_URL": "smtp://other:2525",
        "KFLOW_NOTIFY_LOG": "1",
    }
    overridden = Settings.load(env)
    assert overridden.smtp_url == "smtp://other:2525"
    assert [c.name for c in overridden.channels()] == ["smtp", "webhook", "log"]
    assert [type(c) for c in Settings.load({"KFLOW_CONFIG": ""}).channels()] == [LogChannel]
    with pytest.raises(InvalidInput, match=r"SMTP URL 'mail.example.dk' is not understood"):
        SmtpChannel("mail.example.dk", SENDER)
    with pytest.raises(InvalidInput, match=r"does not exist"):
        Settings.load({"KFLOW_CONFIG": str(tmp_path / "none.toml")})


ESCALATING = PILOT.replace(
    "municipalities:\n", "notifications: {language: en, escalate_after: P14D, digest_every: P7D}\n"
    "municipalities:\n", 1,
)  # fmt: skip


def test_escalation_and_digest_reach_the_secretariat(smtp: SmtpServer) -> None:
    """In English: escalation after 14 days overdue; a weekly digest grouped by municipality."""
    store = pilot_store(text=ESCALATING)
    report = tick(store, at("2007-10-15"))
    assert len(report.of("escalation")) == 4
    assert report.of("escalation")[0].at == at("2007-10-14")
    dispatch(store, [SmtpChannel(smtp.url, SENDER)], at("2007-10-15"))
    (mail,) = [m for r, m in smtp.inbox.messages if r == ["sekretariat@udbudsportalen.example.dk"]]
    text = mail.get_payload(decode=True).decode()  # the four escalations and the digest, listed
    assert (
        "Escalation: AAR-SUND-01 'Behovsafdækning og beslutning om udbudsområde' is 14 days past its due date 2007-09-30"
        in text
    )
    assert "Digest 2007-10-14: 4 overdue steps across the network" in text
    assert "Aarhus (751)" in text and "Odense (461)" in text and "14 days overdue" in text
    assert (
        text.index("Aarhus (751)") < text.index("Frederiksberg (147)") < text.index("Odense (461)")
    )
    assert tick(store, at("2007-10-15")).notifications == 0


def _daemon(db: Path, smtp_url: str, speed: str) -> subprocess.Popen[str]:
    env = {**os.environ, "KFLOW_DB": f"sqlite:///{db}", "KFLOW_NOW": "2007-06-01",
           "KFLOW_SMTP_URL": smtp_url, "KFLOW_MAIL_FROM": SENDER}  # fmt: skip
    cmd = [sys.executable, str(ROOT / "cli.py"), "scheduler", "run", "--interval", "0.05",
           "--speed", speed, "--until", "2008-10-01"]  # fmt: skip
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_runs_across_the_timeline_with_a_restart_deliver_each_notice_once(
    tmp_path: Path, smtp: SmtpServer
) -> None:
    """Daemon stopped halfway and restarted, then a whole second run: every mail arrives once."""
    db = tmp_path / "kflow.db"
    store = pilot_store(f"sqlite:///{db}", ESCALATING)
    anna = store.person("anna")
    store.advance("AAR-SUND-01", "approve_scope", anna, at("2007-09-20"))
    store.advance("AAR-SUND-01", "publish", anna, at("2008-01-10"))
    store.engine.dispose()

    first = _daemon(db, smtp.url, "4000000")
    wait_for(lambda: len(smtp.inbox.keys()) >= 4)  # running, and some mail has gone out
    first.send_signal(signal.SIGTERM)
    assert first.wait(30) == 0
    halfway = len(smtp.inbox.keys())
    for speed in ("20000000", "20000000"):  # finish the first run; then run the timeline again
        daemon = _daemon(db, smtp.url, speed)
        _out, err = daemon.communicate(timeout=120)
        assert daemon.returncode == 0, err
    keys = smtp.inbox.keys()
    outbox = Store(f"sqlite:///{db}").notifications()
    sent = [n for n in outbox if n.status == "sent"]
    withdrawn = [n for n in outbox if n.status != "sent"]  # a tick that queued, then left the step
    assert 0 < halfway < len(keys)
    assert len(keys) == len(set(keys)) == len(sent) > len(outbox) // 2
    assert all(n.status == "withdrawn" and n.last_error == WITHDRAWN for n in withdrawn)
    assert {"reminder", "overdue", "escalation", "digest"} <= {n.kind for n in sent}
    assert sorted(keys) == sorted(n.dedupe_key for n in sent)


def test_dispatch_with_the_server_down_says_so_in_one_line_and_exits_0(tmp_path: Path) -> None:
    """The CLI: one sentence on stderr, exit 0, the messages still queued."""
    from click.testing import CliRunner

    from cli import main

    db = tmp_path / "kflow.db"
    store = pilot_store(f"sqlite:///{db}")
    tick(store, at("2007-09-16"))
    env = {"KFLOW_DB": f"sqlite:///{db}", "KFLOW_NOW": "2007-09-16",
           "KFLOW_SMTP_URL": f"smtp://127.0.0.1:{free_port()}", "KFLOW_CONFIG": ""}  # fmt: skip
    result = CliRunner().invoke(main, ["notify", "dispatch"], env=env)
    assert result.exit_code == 0
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("kflow: could not deliver (smtp://127.0.0.1:") and "retried" in line
    listed = CliRunner().invoke(
        main, ["notify", "list", "--json"], env={**env, "KFLOW_USER": "kl-sek"}
    )
    assert {n["status"] for n in json.loads(listed.stdout)} == {"queued"}


def test_one_channels_permanent_failure_does_not_stop_the_others(webhook: WebhookServer) -> None:
    """No email address: SMTP fails for good, the webhook still gets the message."""
    store = pilot_store(text=PILOT.replace("email: ole.hansen@odense.example.dk", 'email: ""'))
    tick(store, at("2007-09-16"))
    server = SmtpServer().start()
    try:
        channels = [SmtpChannel(server.url, SENDER), WebhookChannel(webhook.url)]
        report = dispatch(store, channels, at("2007-09-16"))
    finally:
        server.stop()
    assert len(webhook.posts) == 4 and len(report.sent) == 3
    (failed,) = store.notifications("failed")
    assert failed.recipient == "ole" and list(failed.data["delivered"]) == ["webhook"]


def test_a_mails_message_id_is_one_valid_msg_id_whatever_the_key(smtp: SmtpServer) -> None:
    """Keys hold ':', '@' and a person's own id ("søren"): every Message-ID is one valid
    `<…@konkurrence-flow>`, and each mail has its own."""
    store = pilot_store(text=PILOT.replace(" ole,", " søren,"))  # id and leader
    tick(store, at("2007-09-16"))
    dispatch(store, [SmtpChannel(smtp.url, SENDER)], at("2007-09-16"))
    ids = [mail["Message-ID"] for _, mail in smtp.inbox.messages]
    assert ids and all(not header.defects for header in ids)
    texts = {str(header).strip() for header in ids}
    assert len(texts) == len(ids)
    assert all(MSG_ID.match(text) and text.endswith("@konkurrence-flow>") for text in texts)


def test_notify_retry_speaks_copenhagen_time(tmp_path: Path) -> None:
    """`notify retry` names its instants as Copenhagen wall time, like every other message."""
    from click.testing import CliRunner

    from cli import main

    db = tmp_path / "kflow.db"
    no_address = PILOT.replace("email: ole.hansen@odense.example.dk", 'email: ""')
    store = pilot_store(f"sqlite:///{db}", no_address)
    tick(store, at("2007-09-16"))
    server = SmtpServer().start()
    try:
        report = dispatch(store, [SmtpChannel(server.url, SENDER)], at("2007-09-16T00:05"))
    finally:
        server.stop()
    ((failed, _),), sent = report.failed, report.sent[0]
    env = {
        "KFLOW_DB": f"sqlite:///{db}",
        "KFLOW_NOW": "2007-09-17T08:30",
        "KFLOW_CONFIG": "",
        "KFLOW_USER": "kl-sek",
    }
    refused = CliRunner().invoke(main, ["notify", "retry", str(sent)], env=env)
    assert refused.exit_code == 1
    assert f"notification {sent} was sent at 2007-09-16 00:05 CEST;" in refused.stderr
    queued = CliRunner().invoke(main, ["notify", "retry", str(failed)], env=env)
    assert queued.stdout == f"notification {failed} to ole queued again for 2007-09-17 08:30 CEST\n"
    every = json.loads(CliRunner().invoke(main, ["notify", "list", "--json"], env=env).stdout)
    page = CliRunner().invoke(main, ["notify", "list", "--json", "--limit", "2", "--offset", "1"],
                              env=env)  # fmt: skip
    assert len(every) == 4 and json.loads(page.stdout) == every[1:3]
    too_many = CliRunner().invoke(main, ["notify", "list", "--limit", "10001"], env=env)
    assert too_many.exit_code == 2 and "10001 is not in the range 1<=x<=10000" in too_many.stderr


# -- hardening (issue 9) -----------------------------------------------------------------------


def _store_url(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'kflow.db'}"
    url = str(request.getfixturevalue("postgres_url"))
    empty_postgres(url)
    return url


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_dispatcher_far_ahead_in_virtual_time_leaves_a_claimed_message_alone(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """One dispatcher is mid-send; another runs an hour later on a --speed clock, a moment later
    in real time: the claim's lease runs on the real clock, so every key arrives exactly once."""
    url = _store_url(kind, tmp_path, request)
    store = pilot_store(url)
    tick(store, at("2007-09-16"))
    server = SmtpServer(hold_first=True).start()
    one, other = Store(url), Store(url)  # two dispatchers, as two processes would be
    first = threading.Thread(
        target=dispatch, args=(one, [SmtpChannel(server.url, SENDER)], at("2007-09-16"))
    )
    try:
        first.start()
        wait_for(server.inbox.holding.is_set)  # the first dispatcher has claimed and is sending
        dispatch(other, [SmtpChannel(server.url, SENDER)], at("2007-09-16T01:00"))
    finally:
        server.inbox.release.set()
        first.join()
        server.stop()
    keys = server.inbox.keys()
    assert sorted(keys) == sorted(n.dedupe_key for n in store.notifications())
    assert {n.status for n in store.notifications()} == {"sent"}
    for each in (store, one, other):
        each.engine.dispose()


def test_a_claim_never_settled_is_taken_again_once_its_lease_has_passed_in_real_time(
    webhook: WebhookServer,
) -> None:
    """A dispatcher died mid-send: its message waits out the lease on the real clock (however far
    the virtual clock runs), then the next dispatch sends it."""
    store = pilot_store()
    tick(store, at("2007-09-16"))
    claimed_at = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    (note,) = store.claim_notifications(at("2007-09-16"), claimed_at, "dead", LEASE, limit=1)
    assert note.claimed_until == claimed_at + LEASE and note.attempts == 1  # ... and then it died
    channel = [WebhookChannel(webhook.url)]
    soon = dispatch(store, channel, at("2007-12-24"), real=FixedClock(claimed_at + LEASE / 2))
    assert note.id not in soon.sent and len(soon.sent) == 3
    later = dispatch(store, channel, at("2007-12-24"), real=FixedClock(claimed_at + LEASE))
    assert later.sent == [note.id] and len(webhook.posts) == 4


def test_an_unreachable_server_costs_no_attempts_and_nothing_is_lost() -> None:
    """Six hourly dispatches against a closed port: every message stays queued with no attempt
    counted (the channel is backed off, not the messages); when the server returns, each
    arrives once."""
    server = SmtpServer(port=free_port())
    store = pilot_store()
    tick(store, at("2007-09-16"))
    channels = [SmtpChannel(server.url, SENDER)]
    for hour in range(6):
        report = dispatch(store, channels, at("2007-09-16") + timedelta(hours=hour))
        assert report.unreachable and "Connection refused" in report.unreachable
        assert report.sent == report.retrying == report.failed == []
    assert [(n.status, n.attempts) for n in store.notifications()] == [("queued", 0)] * 4
    server.start()
    try:
        assert len(dispatch(store, channels, at("2007-09-17")).sent) == 4
        assert dispatch(store, channels, at("2007-09-18")).sent == []
    finally:
        server.stop()
    assert sorted(server.inbox.keys()) == sorted(n.dedupe_key for n in store.notifications())


def test_an_unreachable_channel_rests_before_it_is_tried_again() -> None:
    """After a refused connection the channel rests 1 minute on the dispatcher's clock (then 10,
    then an hour): a dispatch meanwhile sends nothing; the first one after it sends everything."""
    server = SmtpServer(port=free_port())
    store = pilot_store()
    tick(store, at("2007-09-16"))
    channels = [SmtpChannel(server.url, SENDER)]
    assert dispatch(store, channels, at("2007-09-16")).unreachable
    server.start()
    try:
        resting = dispatch(store, channels, at("2007-09-16T00:00:30"))
        assert resting.sent == [] and resting.unreachable is None and server.inbox.keys() == []
        assert len(dispatch(store, channels, at("2007-09-16T00:01")).sent) == 4
    finally:
        server.stop()


def bad_address_store(url: str = "sqlite://") -> Store:
    """The pilot with a line break in ole's address, as a store written by v0.1.0 may hold it
    (kflow refuses such an address at the door now)."""
    from sqlalchemy import text

    store = pilot_store(url)
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE person SET email = :e WHERE id = 'ole'"),
                     {"e": "ole.hansen@odense.example.dk\nBcc: spy@example.dk"})  # fmt: skip
    store.refresh()
    return store


def test_a_message_that_cannot_be_built_fails_at_once_with_its_reason(
    smtp: SmtpServer, webhook: WebhookServer
) -> None:
    """A line break in an address would inject a header: that mail fails after one try, with the
    reason, and is never tried again; the webhook still gets it, and nothing raises."""
    store = bad_address_store()
    tick(store, at("2007-09-16"))
    channels = [SmtpChannel(smtp.url, SENDER), WebhookChannel(webhook.url)]
    report = dispatch(store, channels, at("2007-09-16"))
    (failed,) = store.notifications("failed")
    assert (failed.recipient, failed.attempts, report.failed) == (
        "ole",
        1,
        [(failed.id, failed.last_error)],
    )
    assert "could not be built" in (failed.last_error or "") and "linefeed" in (
        failed.last_error or ""
    )
    assert len(report.sent) == 3 and len(webhook.posts) == 4
    assert all("spy@example.dk" not in rcpt for rcpt, _ in smtp.inbox.messages)
    assert dispatch(store, channels, at("2007-09-17")).failed == []


def test_the_daemon_settles_a_message_it_cannot_build_without_a_traceback(
    tmp_path: Path, smtp: SmtpServer
) -> None:
    """A whole run with a bad address: no traceback on stderr; ole's notices are failed with the
    reason, everyone else's are sent."""
    db = tmp_path / "kflow.db"
    bad_address_store(f"sqlite:///{db}").engine.dispose()
    daemon = _daemon(db, smtp.url, "20000000")
    _out, err = daemon.communicate(timeout=120)
    assert daemon.returncode == 0 and "Traceback" not in err, err
    outbox = Store(f"sqlite:///{db}").notifications()
    assert {n.status for n in outbox if n.recipient == "ole"} == {"failed"}
    assert {n.status for n in outbox if n.recipient != "ole"} == {"sent"}
    assert all("could not be built" in (n.last_error or "") for n in outbox if n.recipient == "ole")


def test_a_persons_notices_in_one_dispatch_go_as_one_mail_that_lists_them(
    smtp: SmtpServer,
) -> None:
    """The first run after a gap owes the secretariat four escalations and a digest: one mail
    that lists all five (each key in an X-Kflow-Key header), and one mail for each leader."""
    store = pilot_store(text=ESCALATING)
    tick(store, at("2007-10-15"))
    report = dispatch(store, [SmtpChannel(smtp.url, SENDER)], at("2007-10-15"))
    outbox = store.notifications()
    assert sorted(report.sent) == [n.id for n in outbox]
    keys: dict[str, list[str]] = {}
    for note in outbox:
        keys.setdefault(note.address, []).append(note.dedupe_key)
    mails = {rcpt[0]: mail for rcpt, mail in smtp.inbox.messages}
    assert len(smtp.inbox.messages) == len(mails) == len(keys) == 4
    assert {a: sorted(m.get_all("X-Kflow-Key")) for a, m in mails.items()} == {
        a: sorted(k) for a, k in keys.items()
    }
    secretariat = mails["sekretariat@udbudsportalen.example.dk"]
    assert secretariat["Subject"] == "5 notices from konkurrence-flow"
    text = secretariat.get_payload(decode=True).decode().replace("\r\n", "\n")
    assert text.startswith("You have 5 notices:\n")
    for note in outbox:
        if note.recipient == "kl-sek":
            assert note.subject in text and note.body.splitlines()[2] in text
    anna = mails["anna.jensen@aarhus.example.dk"]
    assert anna["Subject"] == "2 notices from konkurrence-flow"
    (ole,) = [m for a, m in mails.items() if a == "ole.hansen@odense.example.dk"]
    assert ole["Subject"].startswith("Overdue: ODE-BESK-01")


def test_a_message_one_channel_refuses_while_another_rests_is_put_back_once() -> None:
    """Ole has no address (SMTP refuses his message for good) and the webhook cannot be reached
    (it rests): his message goes back to the queue, held by the dispatch so it is not claimed
    again and again; the dispatch ends, and lets go of it."""
    no_address = PILOT.replace("email: ole.hansen@odense.example.dk", 'email: ""')
    store = pilot_store("sqlite://", no_address)
    tick(store, at("2007-09-16"))
    server = SmtpServer().start()
    channels = [SmtpChannel(server.url, SENDER),
                WebhookChannel(f"http://127.0.0.1:{free_port()}/hook")]  # fmt: skip
    done: list[DispatchReport] = []
    worker = threading.Thread(
        target=lambda: done.append(dispatch(store, channels, at("2007-09-16")))
    )
    try:
        worker.start()
        worker.join(60)
    finally:
        server.stop()
    assert not worker.is_alive() and done and done[0].unreachable
    notes = store.notifications()
    assert {(n.status, n.attempts, n.claimed_until) for n in notes} == {("queued", 0, None)}
    ole = [n for n in notes if n.recipient == "ole"]
    assert ole and all("smtp" not in n.data.get("delivered", []) for n in ole)
    assert all(n.data.get("delivered") == ["smtp"] for n in notes if n.recipient != "ole")


def test_notices_about_a_step_left_before_they_went_out_are_withdrawn(smtp: SmtpServer) -> None:
    """The reminders queued on 2007-09-16 wait (the mail server was down, say); Anna approves the
    scope on 09-20. Her reminder is withdrawn, with why, in the same transaction as her act; the
    other leaders' still go out, and the next dispatch sends nothing about a step already done."""
    store = pilot_store()
    tick(store, at("2007-09-16"))
    anna = store.person("anna")
    store.advance("AAR-SUND-01", "approve_scope", anna, at("2007-09-20"))
    by_key = {n.dedupe_key: n for n in store.notifications()}
    mine = by_key["reminder:AAR-SUND-01:1:P14D@2007-09-30:anna"]
    assert (mine.status, mine.last_error, mine.next_attempt_at) == ("withdrawn", WITHDRAWN, None)
    others = [n for n in by_key.values() if n is not mine]
    assert len(others) == 3 and {n.status for n in others} == {"queued"}

    report = dispatch(store, [SmtpChannel(smtp.url, SENDER)], at("2007-09-20T00:05"))
    assert sorted(report.sent) == sorted(n.id for n in others)
    assert "AAR-SUND-01" not in str([m["X-Kflow-Key"] for _rcpt, m in smtp.inbox.messages])
    assert [n.dedupe_key for n in store.notifications("withdrawn")] == [mine.dedupe_key]
    assert tick(store, at("2007-09-21")).notifications == 0  # nothing queued again


def test_a_step_flagged_and_left_in_one_act_writes_its_notice_withdrawn() -> None:
    """Nobody ticked after the due date: Anna's late act first catches the tender up (the
    overdue flag is history), then leaves the step; the notice it queued is written withdrawn,
    and the reminders of the step she leaves too."""
    store = pilot_store()
    anna = store.person("anna")
    store.advance("AAR-SUND-01", "approve_scope", anna, at("2007-10-03"))
    assert any("overdue" in e.data for e in store.history("AAR-SUND-01"))
    notes = [n for n in store.notifications() if n.tender == "AAR-SUND-01"]
    assert {n.kind for n in notes} == {"overdue"} and {n.status for n in notes} == {"withdrawn"}
    assert store.notifications("queued") == []  # the other tenders' wait for a tick of their own


def test_the_outbox_lists_withdrawn_messages_and_names_its_statuses(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from cli import main

    url = f"sqlite:///{tmp_path / 'kflow.db'}"
    store = pilot_store(url)
    tick(store, at("2007-09-16"))
    store.advance("AAR-SUND-01", "approve_scope", store.person("anna"), at("2007-09-20"))
    env = {"KFLOW_DB": url, "KFLOW_USER": "kl-sek", "KFLOW_NOW": "2007-09-20"}
    listed = CliRunner().invoke(
        main, ["notify", "list", "--status", "withdrawn", "--json"], env=env
    )
    assert listed.exit_code == 0, listed.output
    (row,) = json.loads(listed.output)
    assert (row["status"], row["tender"], row["last_error"]) == ("withdrawn", "AAR-SUND-01",
                                                                 WITHDRAWN)  # fmt: skip
    refused = CliRunner().invoke(main, ["notify", "list", "--status", "late"], env=env)
    assert refused.exit_code == 2 and "'queued', 'sent', 'failed', 'withdrawn'" in refused.output


@pytest.mark.parametrize(
    ("outcome", "status"),
    [({"status": "queued", "error": "451 try later", "retry_at": at("2007-09-21")}, "withdrawn"),
     ({"status": "queued", "error": None, "hold": True}, "withdrawn"),
     ({"status": "failed", "error": "550 no such user"}, "withdrawn"),
     ({"status": "sent", "sent_at": at("2007-09-20T00:10")}, "sent")],
)  # fmt: skip
def test_a_message_withdrawn_while_a_dispatch_holds_it_stays_withdrawn_unless_it_went_out(
    outcome: dict[str, Any], status: str
) -> None:
    """A dispatch has claimed Anna's reminder when she approves the scope: whatever the attempt
    comes to, the message is not queued again (not even to wait for a server); only one that
    did go out is recorded as sent."""
    from datetime import UTC, datetime

    store = pilot_store()
    tick(store, at("2007-09-16"))
    claimed = store.claim_notifications(at("2007-09-20"), datetime.now(UTC), "d1", LEASE, limit=10)
    (note,) = [n for n in claimed if n.dedupe_key.startswith("reminder:AAR-SUND-01:1:")]
    store.advance("AAR-SUND-01", "approve_scope", store.person("anna"), at("2007-09-20"))
    store.settle_notification(note.id, ["smtp"], owner="d1", **outcome)
    after = store.notification(note.id)
    assert after.status == status
    if status == "withdrawn":
        assert (after.last_error, after.next_attempt_at) == (WITHDRAWN, None)
    later = store.claim_notifications(at("2008-01-01"), datetime.now(UTC) + 2 * LEASE, "d2",
                                      LEASE, limit=10)  # fmt: skip
    assert note.id not in [n.id for n in later] and len(later) == 3  # the others' reminders
