"""The CLI as a client of the shared service: a real `kflow serve` on 127.0.0.1, and `kflow` with
KFLOW_URL saying, exit code for exit code and byte for byte, what it says on the store itself.

Both sides run on one instant: the local commands at KFLOW_NOW, the service from `--now` with
`--speed 1e-12`, a clock that moves less than a microsecond in a week, so every `occurred_at`,
`recorded_at` and hash is the same on both sides and nothing needs normalising.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import given
from hypothesis import strategies as st
from servers import free_port, kflow_serve
from support import DEFINITIONS, ROOT

from cli import main
from konkurrence_flow.errors import InvalidInput
from konkurrence_flow.facts import parse_assignments

NOW = "2007-10-05"
PILOT = ROOT / "workflows" / "pilot-2007.yaml"
_UNSET = {"KFLOW_DB": None, "KFLOW_USER": None, "KFLOW_NOW": None, "KFLOW_URL": None,
          "KFLOW_TOKEN": None, "KFLOW_TOKEN_FILE": None}  # fmt: skip


def _kflow(env: dict[str, str | None], *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env={**_UNSET, **env}, input=stdin)


def _ok(env: dict[str, str | None], *args: str) -> str:
    result = _kflow(env, *args)
    assert result.exit_code == 0, (args, result.stdout, result.stderr)
    return result.stdout


def _set_up(db: Path) -> dict[str, str]:
    """A store as the secretariat makes one; the tokens of anna and kl-sek."""
    env: dict[str, str | None] = {"KFLOW_DB": f"sqlite:///{db}", "KFLOW_USER": "kl-sek",
                                  "KFLOW_NOW": "2007-06-01"}  # fmt: skip
    _ok(env, "init")
    _ok(env, "definitions", "load", str(DEFINITIONS))
    _ok(env, "programme", "load", str(PILOT))
    made = {p: json.loads(_ok(env, "token", "create", p, "--json")) for p in ("anna", "kl-sek")}
    return {p: t["token"] for p, t in made.items()}


@dataclass
class Service:
    """A running `kflow serve`, a store the same as its own was, and tokens for the service."""

    url: str
    db: Path
    local_db: Path
    tokens: dict[str, str]

    def remote(self, person: str, **env: str | None) -> dict[str, str | None]:
        return {"KFLOW_URL": self.url, "KFLOW_TOKEN": self.tokens[person], **env}

    def local(self, person: str) -> dict[str, str | None]:
        return {"KFLOW_DB": f"sqlite:///{self.local_db}", "KFLOW_USER": person, "KFLOW_NOW": NOW}

    def admin(self) -> dict[str, str | None]:
        """The secretariat on the service's machine, administering its store."""
        return {"KFLOW_DB": f"sqlite:///{self.db}", "KFLOW_USER": "kl-sek", "KFLOW_NOW": NOW}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """`kflow serve --no-scheduler` on a free port of 127.0.0.1, stopped with SIGTERM after."""
    folder = tmp_path_factory.mktemp("remote")
    db, local_db = folder / "service.db", folder / "local.db"
    tokens = _set_up(db)
    _set_up(local_db)
    env = {"KFLOW_DB": f"sqlite:///{db}", "KFLOW_NOW": NOW, "KFLOW_USER": "kl-sek"}
    with kflow_serve(env) as url:
        yield Service(url, db, local_db, tokens)


# -- the same walk, both ways ---------------------------------------------------------------------

WALK: list[tuple[str, tuple[str, ...]]] = [
    ("anna", ("tender", "create", "--definition", "individual-tender", "--title", "Hjemmepleje",
              "--municipality", "Aarhus", "--id", "AAR-HJEM-01", "--regime", "eu-2004-18",
              "--procedure", "open", "--json")),
    ("anna", ("tender", "create", "--definition", "individual-tender", "--title", "Madservice",
              "--municipality", "751", "--id", "AAR-MAD-01")),
    ("anna", ("advance", "AAR-HJEM-01", "approve_scope", "--note", "Byrådet har besluttet",
              "--json")),
    ("anna", ("advance", "AAR-HJEM-01", "publish", "--set", "tender_deadline=2007-12-14")),
    ("anna", ("advance", "AAR-SUND-01", "approve_scope", "--at", "2007-09-20", "--json")),
    ("anna", ("advance", "AAR-BESK-01", "approve_scope", "--at", "2007-06-01")),  # too early
    ("anna", ("advance", "AAR-HJEM-01", "close_bidding")),  # the secretariat's: refused
    ("anna", ("advance", "ODE-BESK-01", "approve_scope")),  # Odense's tender: refused
    ("anna", ("advance", "AAR-MAD-01", "publish", "--json")),  # not from scoping: refused
    ("anna", ("tender", "set", "AAR-HJEM-01", "winner= Falck A/S", "contract_value=4.100.000",
              "baseline_cost=5.000.000,50", "bidders=3", "cvr=01234567", "ratio=1.50")),
    ("anna", ("tender", "show", "AAR-HJEM-01", "--json")),
    ("anna", ("tender", "show", "AAR-HJEM-01")),
    ("anna", ("tender", "show", "NOPE")),
    ("anna", ("tender", "show", "")),  # no path can carry these: refused alike, not "Not Found"
    ("anna", ("tender", "history", "a/b")),
    ("anna", ("advance", "..", "publish")),
    ("anna", ("tender", "history", "AAR-HJEM-01", "--json")),
    ("anna", ("tender", "history", "AAR-HJEM-01")),
    ("anna", ("tender", "list", "--json")),
    ("anna", ("tender", "list", "--municipality", "Aarhus", "--state", "scoping")),
    ("anna", ("tender", "list", "--overdue", "--json")),
    ("anna", ("overdue", "--json")),
    ("anna", ("overdue",)),
    ("anna", ("forecast", "--until", "2008-06-30", "--json")),
    ("anna", ("forecast", "--until", "end of Q4 2007")),
    ("anna", ("plan", "--json")),
    ("anna", ("plan", "--tender", "AAR-HJEM-01")),
    ("anna", ("plan", "--programme", "nope")),
    ("anna", ("effects", "--json")),
    ("anna", ("effects",)),
    ("anna", ("programme", "show", "--json")),
    ("anna", ("programme", "show", "pilot-2007")),
    ("anna", ("programme", "show", "nope")),
    ("anna", ("notify", "list")),  # the secretariat's: refused
    ("kl-sek", ("notify", "list", "--json")),
    ("kl-sek", ("notify", "list", "--status", "failed")),
    ("kl-sek", ("notify", "retry", "1")),
    ("kl-sek", ("notify", "retry", "999")),
    ("kl-sek", ("advance", "AAR-HJEM-01", "cancel", "--json")),  # a note is required
]  # fmt: skip


def test_the_walk_gives_the_same_output_locally_and_remotely(service: Service) -> None:
    """Create, advance, refusals, show, history, lists and reports: the same stdout, stderr and
    exit code, byte for byte, on the store itself and through the service."""
    codes = []
    for person, args in WALK:
        here = _kflow(service.local(person), *args)
        there = _kflow(service.remote(person), *args)
        assert (there.exit_code, there.stdout, there.stderr) == (
            here.exit_code, here.stdout, here.stderr,
        ), args  # fmt: skip
        codes.append(here.exit_code)
    assert codes.count(1) == 13 and codes.count(0) == len(WALK) - 13  # refusals, and successes


@given(st.lists(st.text(max_size=30), min_size=1, max_size=3),
       st.sampled_from(["winner", "bidders", "contract_value", "pin_published",
                        "tender_deadline", "in_house_bid", "other"]))  # fmt: skip
def test_facts_as_the_cli_typed_them_read_the_same_on_the_service(
    values: list[str], key: str
) -> None:
    """A fact the CLI typed from `--set KEY=VALUE`, sent as JSON, is the same value on the
    service (which reads it as `--set` does): the client may send typed values."""
    from konkurrence_flow.http import FactsBody, _facts

    try:
        typed = parse_assignments([f"{key}={v}" for v in values])
    except InvalidInput:
        return
    body = FactsBody.model_validate_json(json.dumps({"facts": typed}))
    assert _facts(body.facts) == typed


# -- tokens -------------------------------------------------------------------------------------


def test_a_revoked_token_is_refused_with_a_sentence(service: Service) -> None:
    """Revoked on the server, the token stops working at once: exit 1 and what to do."""
    made = json.loads(_ok(service.admin(), "token", "create", "anna", "--json"))
    remote = {"KFLOW_URL": service.url, "KFLOW_TOKEN": made["token"]}
    assert _kflow(remote, "tender", "show", "AAR-SUND-01").exit_code == 0
    _ok(service.admin(), "token", "revoke", made["id"])
    refused = _kflow(remote, "tender", "show", "AAR-SUND-01")
    assert refused.exit_code == 1
    assert refused.stderr == (
        f"kflow: token {made['id']} is revoked; set KFLOW_TOKEN to a valid token, or unset it "
        f"and run `kflow login {service.url}`\n"
    )
    assert made["token"] not in refused.stderr


def test_login_checks_the_token_and_keeps_it_in_a_file_of_mode_0600(
    service: Service, tmp_path: Path
) -> None:
    """`kflow login URL` asks /me, writes ~/.config/kflow/token 0600 (folder 0700); remote
    commands then need no KFLOW_TOKEN; `kflow logout` removes the file."""
    home = {"HOME": str(tmp_path)}
    said = _kflow(home, "login", service.url + "/", stdin=service.tokens["anna"] + "\n")
    assert said.exit_code == 0, said.stderr
    assert said.stdout.startswith(f"logged in to {service.url} as anna (Anna Jensen, ")
    assert service.tokens["anna"] not in said.stdout  # the prompt hides it
    path = tmp_path / ".config" / "kflow" / "token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert json.loads(path.read_text()) == {"url": service.url, "token": service.tokens["anna"]}
    shown = _kflow({**home, "KFLOW_URL": service.url}, "tender", "show", "AAR-SUND-01", "--json")
    assert json.loads(shown.stdout)["id"] == "AAR-SUND-01"
    assert _ok(home, "logout").startswith(f"logged out: removed {path}")
    assert not path.exists()


def test_login_refuses_a_bad_token_and_writes_nothing(service: Service, tmp_path: Path) -> None:
    """A token the service does not know: exit 1, one sentence, no file."""
    env = {"KFLOW_TOKEN_FILE": str(tmp_path / "token")}
    unknown = "kf_000000000000_" + "A" * 43
    said = _kflow(env, "login", service.url, "--token-stdin", stdin=unknown + "\n")
    assert (said.exit_code, said.stderr) == (1, "kflow: no valid token (Authorization: Bearer "
            "kf_…); ask the secretariat for a valid one (`kflow token create`)\n")  # fmt: skip
    assert not (tmp_path / "token").exists()
    garbled = _kflow(env, "login", service.url, "--token-stdin", stdin="hunter2\n")
    assert garbled.exit_code == 1 and "hunter2" not in garbled.stderr


def test_a_token_file_readable_by_others_is_refused(service: Service, tmp_path: Path) -> None:
    """Mode 0644 (or any access for group or others): refused before it is read."""
    env = {"KFLOW_TOKEN_FILE": str(tmp_path / "token"), "KFLOW_URL": service.url}
    path = tmp_path / "token"
    path.write_text(json.dumps({"url": service.url, "token": service.tokens["anna"]}))
    path.chmod(0o644)
    refused = _kflow(env, "tender", "show", "AAR-SUND-01")
    assert refused.exit_code == 1
    assert refused.stderr.startswith(f"kflow: {path} is readable by others (mode 0644); refusing")
    path.chmod(0o600)
    assert _kflow(env, "tender", "show", "AAR-SUND-01").exit_code == 0


def test_a_token_file_for_another_service_is_not_sent(service: Service, tmp_path: Path) -> None:
    """The file names the service it was checked against; another KFLOW_URL does not get it."""
    path = tmp_path / "token"
    path.write_text(
        json.dumps({"url": "https://kflow.example.dk", "token": service.tokens["anna"]})
    )
    path.chmod(0o600)
    env = {"KFLOW_TOKEN_FILE": str(path), "KFLOW_URL": service.url}
    refused = _kflow(env, "tender", "show", "AAR-SUND-01")
    assert (refused.exit_code, refused.stderr) == (1, f"kflow: the token in {path} is for "
            f"https://kflow.example.dk, not {service.url}; run `kflow login {service.url}`\n")  # fmt: skip


# -- what remote mode refuses ---------------------------------------------------------------------


ADMINISTRATION = [
    ("init", ()), ("definitions load", ("definitions",)), ("programme load", (str(PILOT),)),
    ("person add", ("x", "--name", "X", "--email", "x@example.dk", "--role", "secretariat")),
    ("token create", ("anna",)), ("token list", ()), ("token revoke", ("abc",)), ("tick", ()),
    ("serve", ()), ("scheduler run", ()), ("audit verify", ()), ("audit head", ()),
    ("db status", ()),
]  # fmt: skip


@pytest.mark.parametrize(("command", "args"), ADMINISTRATION)
def test_administration_needs_the_store(
    service: Service, command: str, args: tuple[str, ...]
) -> None:
    """The store's administration stays on its machine: one sentence, exit 1."""
    refused = _kflow(service.remote("kl-sek"), *command.split(), *args)
    assert (refused.exit_code, refused.stderr) == (1, f"kflow: `kflow {command}` needs direct "
            "access to the store: run it on the machine that holds it, with KFLOW_URL unset\n")  # fmt: skip


@pytest.mark.parametrize("variable", ["KFLOW_USER", "KFLOW_NOW"])
def test_remote_mode_refuses_another_actor_or_clock(service: Service, variable: str) -> None:
    """The token decides who acts and the service keeps the time: KFLOW_USER and KFLOW_NOW
    would mislead, and are refused (usage error)."""
    value = {"KFLOW_USER": "kl-sek", "KFLOW_NOW": "2009-01-01"}[variable]
    refused = _kflow(service.remote("anna", **{variable: value}), "advance", "KL-X", "y")
    assert refused.exit_code == 2
    assert f"{variable} does not apply with KFLOW_URL" in refused.stderr


def test_an_unreachable_service_is_one_sentence_naming_it() -> None:
    """Nothing listens there: exit 1, the URL, and what to check."""
    url = f"http://127.0.0.1:{free_port()}"
    env = {"KFLOW_URL": url, "KFLOW_TOKEN": "kf_000000000000_" + "A" * 43}
    refused = _kflow(env, "tender", "show", "AAR-SUND-01")
    assert (refused.exit_code, refused.stderr) == (1, f"kflow: cannot reach the service at {url} "
            "(connection refused); is `kflow serve` running there, and is KFLOW_URL right?\n")  # fmt: skip


def test_a_token_is_not_sent_in_the_clear_to_another_machine() -> None:
    """Plain http only to this machine: elsewhere a usage error, before anything is sent."""
    env = {"KFLOW_URL": "http://kflow.example.dk", "KFLOW_TOKEN": "kf_000000000000_" + "A" * 43}
    refused = _kflow(env, "tender", "list")
    assert refused.exit_code == 2
    assert "would send your token in the clear; use https://" in refused.stderr


# -- light ----------------------------------------------------------------------------------------


def test_remote_tender_show_imports_neither_sqlalchemy_nor_sqlmodel(service: Service) -> None:
    """`python -X importtime cli.py tender show` with KFLOW_URL: no store machinery loaded."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KFLOW_")}
    env.update(service.remote("anna"), PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-X", "importtime", str(ROOT / "cli.py"), "tender", "show", "AAR-SUND-01"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("AAR-SUND-01: ")
    imported = {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines()
                if line.startswith("import time:") and "|" in line}  # fmt: skip
    assert "konkurrence_flow.client" in imported
    heavy = {m for m in imported if m.split(".")[0] in {"sqlalchemy", "sqlmodel", "fastapi"}}
    assert heavy == set()
