"""A real OpenID provider for the sign-in tests: ``oidc-provider-mock`` on a loopback port.

Despite its name, oidc-provider-mock is a working OpenID Connect provider: a Flask app whose
authorisation, token, JWKS, discovery and end-session endpoints are Authlib's
``AuthorizationServer`` (authorisation code grant, OpenID Connect, RS256-signed ID tokens
carrying the user's claims), served here by werkzeug on a thread. Its login page lets the
browser pick a user by subject, each with the claims the test gives it.

Two test-only hooks sit on the real app (Flask's own before/after request hooks):
:attr:`Provider.token_requests` records what the client sent to the token endpoint (the
provider does not check PKCE itself, so the tests check the verifier against the challenge),
and :attr:`Provider.forge_id_token`, when set, replaces the ID token of the next answers of
the token endpoint (to play a provider or a network that hands over a bad token).
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import flask
import httpx
import oidc_provider_mock
import werkzeug.serving

from tests.support import free_port

TOKEN_PATH = "/oauth2/token"


@dataclass
class Provider:
    """The running provider: its issuer URL and what the tests can see and change."""

    issuer: str
    token_requests: list[dict[str, str]] = field(default_factory=list)
    forge_id_token: Callable[[str], str] | None = None

    async def id_token_for(self, client_id: str, subject: str, nonce: str) -> str:
        """A genuine ID token the provider issues to ``client_id`` (another application)."""
        redirect_uri = "http://127.0.0.1:9/elsewhere"
        async with httpx.AsyncClient(base_url=self.issuer, timeout=30) as client:
            query = {
                "client_id": client_id,
                "redirect_uri": redirect_uri,
                "response_type": "code",
                "scope": "openid",
                "state": "theirs",
                "nonce": nonce,
            }
            answer = await client.post("/oauth2/authorize", params=query, data={"sub": subject})
            code = query_of(answer.headers["location"])["code"]
            token = await client.post(
                TOKEN_PATH,
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": redirect_uri,
                },
                auth=(client_id, "their-secret"),
            )
        id_token: str = token.json()["id_token"]
        return id_token


def query_of(url: str) -> dict[str, str]:
    """The query parameters of ``url`` (first value of each)."""
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of ``verifier`` (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _hook(app: flask.Flask, provider: Provider) -> None:
    @app.before_request
    def record_token_request() -> None:
        if flask.request.path == TOKEN_PATH:
            provider.token_requests.append(flask.request.form.to_dict())

    @app.after_request
    def forge(response: flask.Response) -> flask.Response:
        forger = provider.forge_id_token
        if forger is not None and flask.request.path == TOKEN_PATH and response.status_code == 200:
            body: dict[str, Any] = json.loads(response.get_data())
            body["id_token"] = forger(body["id_token"])
            response.set_data(json.dumps(body))
        return response


@contextmanager
def running_provider(users: list[oidc_provider_mock.User]) -> Iterator[Provider]:
    """The provider on ``localhost:<free port>`` (nonce required), stopped afterwards."""
    port = free_port()
    app = oidc_provider_mock.app(require_nonce=True, user_claims=users)
    provider = Provider(issuer=f"http://localhost:{port}")
    _hook(app, provider)
    server = werkzeug.serving.make_server("localhost", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()
