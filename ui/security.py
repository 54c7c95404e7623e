"""Who may look and who may change: Jupyter's scheme, for a server on the loopback interface.

- A token is printed at start; opening any page with `?token=...` sets a session cookie
  (HttpOnly, SameSite=Strict) and every other page needs that cookie.
- A request whose Host is not this machine's loopback name is refused while serving on loopback
  (a DNS-rebinding page cannot read it).
- A state-changing request (POST) must come from this site (Origin and Sec-Fetch-Site, when the
  browser sends them) and carry the token itself in the `token` form field or the `X-UI-Token`
  header, so a cookie a browser adds on its own is never enough.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from starlette.requests import Request

COOKIE = "ui_session"
HEADER = "X-UI-Token"
LOOPBACK_NAMES = {"127.0.0.1", "localhost", "::1"}
OPEN_PREFIXES = ("/static/",)  # the page's own CSS and JavaScript: nothing private


@dataclass(frozen=True)
class Guard:
    token: str
    loopback: bool = True
    session: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    def wrong_host(self, request: Request) -> str | None:
        """Why the Host header is refused (serving on loopback, only loopback names), or None."""
        host = urlsplit(f"//{request.headers.get('host', '')}").hostname or ""
        if self.loopback and host not in LOOPBACK_NAMES:
            return f"Host {host!r} is not this machine's loopback name"
        return None

    def refusal(self, request: Request) -> str | None:
        """Why a request is refused before it reaches a page (no session, cross-site), or None."""
        if request.url.path.startswith(OPEN_PREFIXES):
            return None
        if not secrets.compare_digest(request.cookies.get(COOKIE, ""), self.session):
            return "no session: open the address with ?token=... that `python -m ui` printed"
        if request.method != "GET" and not self.same_site(request):
            return "a cross-site request cannot change anything here"
        return None

    def same_site(self, request: Request) -> bool:
        origin = request.headers.get("origin")
        fetch_site = request.headers.get("sec-fetch-site")
        own = f"{request.url.scheme}://{request.headers.get('host', '')}"
        return (origin is None or origin == own) and fetch_site in (None, "same-origin")

    def has_token(self, request: Request, form_token: object) -> bool:
        """The token itself came with a state-changing request (form field or header)."""
        given = request.headers.get(HEADER) or (form_token if isinstance(form_token, str) else "")
        return secrets.compare_digest(given.encode(), self.token.encode())

    def login(self, request: Request) -> bool:
        """The request carries the token in its query (the address printed at start)."""
        given = request.query_params.get("token", "")
        return secrets.compare_digest(given.encode(), self.token.encode())
