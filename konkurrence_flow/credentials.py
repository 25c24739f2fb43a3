"""Where `kflow` finds the shared service and the token that says who you are to it.

The service is `KFLOW_URL`. The token is `KFLOW_TOKEN`, or else the file `kflow login URL` wrote:
`$KFLOW_TOKEN_FILE`, by default `~/.config/kflow/token`. The file is JSON,
`{"url": …, "token": …}`, of mode 0600; a file that others may read is refused (as ssh refuses
such a key), and so is a file written for another service, so a token is never sent anywhere but
where it was checked.

Nothing here imports the store: remote mode stays light.
"""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .errors import InvalidInput, Unauthenticated

TOKEN_FORM = re.compile(r"kf_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")
"""A token's text: `kf_<id>_<secret>` (see `tokens`)."""
_LOOPBACK = {"127.0.0.1", "::1", "localhost"}


@dataclass(frozen=True)
class Credentials:
    """The service's URL, a token for it, and where the token came from (for messages)."""

    url: str
    token: str
    source: str

    @property
    def hint(self) -> str:
        """What to do when the service refuses the token."""
        if self.source == "KFLOW_TOKEN":
            return f"set KFLOW_TOKEN to a valid token, or unset it and run `kflow login {self.url}`"
        return f"run `kflow login {self.url}` with a valid token from the secretariat"


def service_url(text: str, name: str = "KFLOW_URL") -> str:
    """The service's base URL, checked: http(s), a host, and plain http only to this machine (a
    token must not cross a network in the clear)."""
    parts = urlsplit(text.strip())
    try:
        parts.port  # noqa: B018 (a port that is not a number raises here)
    except ValueError:
        parts = urlsplit("")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(
            f"{name} {_shown(text)} is not a service address like https://kflow.example.dk"
        )
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
        raise InvalidInput(
            f"{name} {_shown(text)} would send your token in the clear; use https:// (plain http "
            "only to this machine, behind a TLS proxy)"
        )
    if parts.query or parts.fragment or parts.username:
        raise InvalidInput(
            f"{name} {_shown(text)} is a service address, without a query, fragment or user"
        )
    return text.strip().rstrip("/")


def token_file() -> Path:
    """Where `kflow login` keeps the token: $KFLOW_TOKEN_FILE, or ~/.config/kflow/token."""
    given = os.environ.get("KFLOW_TOKEN_FILE")
    return Path(given) if given else Path.home() / ".config" / "kflow" / "token"


def for_service(url: str) -> Credentials:
    """The token for the service at `url`: KFLOW_TOKEN, else the file `kflow login` wrote."""
    text = os.environ.get("KFLOW_TOKEN")
    if text:
        return Credentials(url, checked_token(text, "KFLOW_TOKEN"), "KFLOW_TOKEN")
    path = token_file()
    if not path.exists():
        raise Unauthenticated(f"no token for {url}: run `kflow login {url}`, or set KFLOW_TOKEN")
    saved_url, token = _read(path)
    if saved_url != url:
        raise Unauthenticated(
            f"the token in {path} is for {saved_url}, not {url}; run `kflow login {url}`"
        )
    return Credentials(url, token, str(path))


def checked_token(text: str, where: str) -> str:
    """A token's text, stripped; anything not of its form is refused (and never echoed)."""
    token = text.strip()
    if not TOKEN_FORM.fullmatch(token):
        raise InvalidInput(f"{where} is not a kflow token (kf_…, as `kflow token create` prints)")
    return token


def save(url: str, token: str) -> Path:
    """Write the token file, mode 0600 in a folder of mode 0700, atomically."""
    path = token_file()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, json.dumps({"url": url, "token": token}).encode("utf-8") + b"\n")
    finally:
        os.close(fd)
    os.replace(temporary, path)
    return path


def remove() -> Path | None:
    """Remove the token file; the path removed, or None if there was none."""
    path = token_file()
    try:
        path.unlink()
    except FileNotFoundError:
        return None
    return path


def _read(path: Path) -> tuple[str, str]:
    """The (url, token) in a token file, which only its owner may read."""
    fd = os.open(path, os.O_RDONLY)
    try:
        mode = stat.S_IMODE(os.fstat(fd).st_mode)
        if mode & 0o077:
            raise Unauthenticated(
                f"{path} is readable by others (mode {mode:04o}); refusing to use it: "
                f"`chmod 600 {path}`, or ask for a new token and `kflow login` again"
            )
        text = os.read(fd, 64 * 1024).decode("utf-8", "replace")
    finally:
        os.close(fd)
    try:
        saved = json.loads(text)
        return str(saved["url"]), checked_token(str(saved["token"]), str(path))
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInput(f"{path} is not a token file written by `kflow login`") from exc


def _shown(text: str) -> str:
    return repr(text if len(text) <= 80 else text[:80] + "…")
