"""Signing in to the dashboard, staying signed in, and forms nobody else can submit.

A browser signs in with the person's API token or a one-time sign-in link
(`kflow token create --link`); either way it gets a new `session` token (`tokens.sign_in`) in a
cookie: HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it), Secure
behind TLS, ending after `tokens.SESSION_LIFETIME` or at sign-out. The cookie is an opaque
256-bit secret of which the store keeps only a hash, so it cannot be forged or altered any more
than a signed cookie could — and unlike a signed cookie, signing out or revoking it
(`kflow token revoke`) ends it at once on every worker.

Every form carries a CSRF token: an HMAC of the session's secret, which only a page of this site,
rendered for this session, knows. The sign-in form (before a session) uses a double-submit cookie.
Every POST must also come from this site's origin, where the browser says.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response

from .. import tokens
from ..model import Person
from ..store import Store

SESSION_COOKIE = "kflow_session"
SIGNIN_COOKIE = "kflow_signin"
LANG_COOKIE = "kflow_lang"


class BadForm(Exception):
    """A form without a valid CSRF token, from another origin (403), or malformed (400)."""

    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.status = status


def person_of(store: Store, request: Request) -> Person | None:
    """The signed-in person, or None (no cookie, or an ended session)."""
    text = request.cookies.get(SESSION_COOKIE)
    if not text:
        return None
    try:
        return tokens.authenticate(store, text, kind="session")
    except tokens.Unauthenticated:
        return None


def start(response: Response, request: Request, session: str) -> None:
    """Set the session cookie (the text of a new session token) on the response."""
    response.set_cookie(
        SESSION_COOKIE, session, max_age=int(tokens.SESSION_LIFETIME.total_seconds()),
        httponly=True, samesite="strict", secure=_secure(request), path="/",
    )  # fmt: skip
    response.delete_cookie(SIGNIN_COOKIE, path="/")


def end(store: Store, request: Request, response: Response) -> None:
    """Sign out: revoke the session token and drop the cookie."""
    tokens.sign_out(store, request.cookies.get(SESSION_COOKIE, ""))
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")


def csrf_token(request: Request) -> str:
    """The token the page's forms carry: bound to the session, or to the sign-in cookie."""
    session = request.cookies.get(SESSION_COOKIE)
    if session:
        return hmac.new(session.encode(), b"kflow-csrf", hashlib.sha256).hexdigest()
    return request.cookies.get(SIGNIN_COOKIE) or ""


def signin_value(request: Request) -> str:
    """The sign-in form's double-submit value: the browser's, or a new one."""
    return request.cookies.get(SIGNIN_COOKIE) or secrets.token_urlsafe(24)


def set_signin_cookie(request: Request, response: Response, value: str) -> None:
    response.set_cookie(SIGNIN_COOKIE, value, max_age=3600, httponly=True, samesite="strict",
                        secure=_secure(request), path="/")  # fmt: skip


def check_form(request: Request, form: dict[str, str], *, signin: bool = False) -> None:
    """Refuse a form without this session's CSRF token (the sign-in form: the sign-in cookie's
    value, whatever session cookie the browser still holds), or posted from another origin."""
    origin = request.headers.get("origin")
    if origin and origin != "null" and origin != _origin(request):
        raise BadForm(f"this form was sent from another site ({origin[:60]})")
    expected = request.cookies.get(SIGNIN_COOKIE, "") if signin else csrf_token(request)
    given = form.get("csrf", "")
    if not expected or not hmac.compare_digest(expected.encode(), given.encode()):
        raise BadForm("this form has expired or did not come from this page; reload and try again")


def forget(response: Response) -> None:
    """Drop a session cookie that no longer works (revoked, ended, or of another store)."""
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _origin(request: Request) -> str:
    """This site's origin as the browser sees it: behind a TLS proxy that forwards Host and
    X-Forwarded-Proto (see README), uvicorn has put both into the request."""
    url = request.url
    default = {"http": 80, "https": 443}.get(url.scheme)
    port = f":{url.port}" if url.port and url.port != default else ""
    return f"{url.scheme}://{url.hostname}{port}"
