"""Signing in to the dashboard with an OpenID Connect provider (authorisation code + PKCE).

The flow, with Authlib as the OAuth 2.0 client:

1. :meth:`ProviderSignIn.start` reads the provider's discovery document, draws a state,
   a nonce and a PKCE verifier (S256), and gives back the authorisation URL and a short-
   lived *login* token holding the three (HS256-signed with the dashboard's session
   secret), which the browser keeps in an HttpOnly cookie until it comes back.
2. :meth:`ProviderSignIn.finish` checks the returned state against that cookie, trades
   the code (with the verifier) for tokens, verifies the ID token's signature against the
   provider's JWKS with :class:`shared.auth.TokenVerifier` (the same check as bearer
   tokens in production: asymmetric algorithms only, issuer, audience = client id,
   expiry), checks its nonce, and maps its claims onto a :class:`Principal`
   (:mod:`shared.provider_claims`).
3. :meth:`ProviderSignIn.session_token` turns the principal into the dashboard's own
   session token (a platform token signed with the session secret, issuer
   :data:`SESSION_ISSUER`), kept in the same session cookie as a pasted token.

Every failure raises :class:`SignInRefused` naming the message to show; nothing here
answers a 500.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import jwt
from authlib.common.security import is_secure_transport
from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError
from fastapi import Request
from starlette.concurrency import run_in_threadpool

from services.audit.settings import SERVICE, AuditSettings
from shared.auth import (
    AuthConfig,
    AuthenticationError,
    KeySetUnavailableError,
    Principal,
    TokenVerifier,
    load_or_create_local_secret,
    mint_token,
)
from shared.provider_claims import (
    NoUsableRoleError,
    ProviderClaimNames,
    principal_from_provider_claims,
)
from shared.service import ServiceRuntime

#: Issuer and audience of the dashboard's own session tokens.
SESSION_ISSUER = "ansinh-dashboard"
SESSION_SECRET_FILE = "dashboard-session.key"  # noqa: S105 - a file name, not a secret
_LOGIN_AUDIENCE = "ansinh-dashboard-login"
#: How long the provider may take to send the browser back.
LOGIN_SECONDS = 600
_METADATA_SECONDS = 3600.0
_HTTP_TIMEOUT = 10.0
_ID_TOKEN_CLAIMS = ("iss", "sub", "aud", "exp", "iat", "nonce")
_EXTRA = "dashboard_sign_in"
_LOGIN_CLAIMS = ("iss", "aud", "exp", "iat", "state", "nonce", "verifier")


class SignInRefused(Exception):
    """Signing in failed: show ``message_key`` with ``status``; ``reason`` is for the log."""

    def __init__(self, message_key: str, status: int, reason: str) -> None:
        super().__init__(reason)
        self.message_key = message_key
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class ProviderMetadata:
    """The parts of the provider's discovery document the dashboard uses."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    end_session_endpoint: str | None


@dataclass(frozen=True)
class LoginStarted:
    """Where to send the browser, and the login token it must keep until it returns."""

    authorization_url: str
    login_token: str


def session_secret(settings: AuditSettings) -> str:
    """The configured session secret, or the one generated once under the data directory."""
    if settings.dashboard_session_secret is not None:
        return settings.dashboard_session_secret.get_secret_value()
    return load_or_create_local_secret(settings.secret_file(SESSION_SECRET_FILE))


class ProviderSignIn:
    """Sign-in with the provider configured in ``settings`` (``dashboard_oidc_*``)."""

    def __init__(self, settings: AuditSettings, secret: str) -> None:
        if not (settings.dashboard_oidc_issuer and settings.dashboard_oidc_client_id):
            raise ValueError("sign-in needs dashboard_oidc_issuer and dashboard_oidc_client_id")
        if not is_secure_transport(settings.dashboard_oidc_issuer):
            # Codes, tokens and keys would cross the network in clear: HTTPS, or loopback.
            raise ValueError("dashboard_oidc_issuer must be an https URL (or on loopback)")
        self.issuer = settings.dashboard_oidc_issuer.rstrip("/")
        self.client_id = settings.dashboard_oidc_client_id
        secret_value = settings.dashboard_oidc_client_secret
        self._client_secret = secret_value.get_secret_value() if secret_value else None
        self.scopes = settings.dashboard_oidc_scopes
        self.redirect_url = settings.dashboard_oidc_redirect_url
        self.provider_name = settings.dashboard_oidc_provider_name or (
            urlsplit(self.issuer).hostname or self.issuer
        )
        self.claim_names = ProviderClaimNames(
            roles=tuple(settings.dashboard_oidc_roles_claims),
            communes=settings.dashboard_oidc_communes_claim,
            services=settings.dashboard_oidc_services_claim,
        )
        self._secret = secret
        self._session_ttl = timedelta(minutes=settings.dashboard_session_minutes)
        self.sessions = TokenVerifier(
            AuthConfig(jwt_secret=secret, issuer=SESSION_ISSUER, audience=SESSION_ISSUER)
        )
        self._logins = TokenVerifier(
            AuthConfig(jwt_secret=secret, issuer=SESSION_ISSUER, audience=_LOGIN_AUDIENCE)
        )
        self._metadata: tuple[ProviderMetadata, float] | None = None
        self._id_tokens: TokenVerifier | None = None

    async def metadata(self) -> ProviderMetadata:
        """The provider's endpoints (discovery, cached an hour); SignInRefused if unreachable."""
        now = time.monotonic()
        if self._metadata is not None and now - self._metadata[1] < _METADATA_SECONDS:
            return self._metadata[0]
        url = f"{self.issuer}/.well-known/openid-configuration"
        try:
            async with httpx.AsyncClient(timeout=_HTTP_TIMEOUT) as client:
                response = await client.get(url)
            response.raise_for_status()
            document = response.json()
            metadata = ProviderMetadata(
                issuer=str(document["issuer"]),
                authorization_endpoint=str(document["authorization_endpoint"]),
                token_endpoint=str(document["token_endpoint"]),
                jwks_uri=str(document["jwks_uri"]),
                end_session_endpoint=document.get("end_session_endpoint"),
            )
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise SignInRefused("signin.provider_down", 503, "discovery failed") from exc
        if metadata.issuer.rstrip("/") != self.issuer:
            # OIDC Discovery §4.3: a document naming another issuer is not this provider's.
            raise SignInRefused("signin.provider_down", 503, "discovery names another issuer")
        if self._id_tokens is None or self._id_tokens.config.jwks_url != metadata.jwks_uri:
            self._id_tokens = TokenVerifier(
                AuthConfig(
                    jwks_url=metadata.jwks_uri, issuer=metadata.issuer, audience=self.client_id
                )
            )
        self._metadata = (metadata, now)
        return metadata

    def _client(self, redirect_url: str) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self.client_id,
            client_secret=self._client_secret,
            scope=self.scopes,
            redirect_uri=redirect_url,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic" if self._client_secret else "none",
            timeout=_HTTP_TIMEOUT,
        )

    async def start(self, redirect_url: str, next_path: str) -> LoginStarted:
        """The authorisation URL (state, nonce, S256 challenge) and the login token to keep."""
        metadata = await self.metadata()
        state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(64)  # 86 characters: within RFC 7636's 43..128
        async with self._client(redirect_url) as client:
            url, _ = client.create_authorization_url(
                metadata.authorization_endpoint, state=state, code_verifier=verifier, nonce=nonce
            )
        # What the login cookie remembers between leaving for the provider and coming back.
        login = {"state": state, "nonce": nonce, "verifier": verifier, "next": next_path}
        return LoginStarted(url, self._sign(login, timedelta(seconds=LOGIN_SECONDS)))

    def _sign(self, claims: dict[str, Any], ttl: timedelta) -> str:
        now = int(time.time())
        body = claims | {"iss": SESSION_ISSUER, "aud": _LOGIN_AUDIENCE, "iat": now}
        return jwt.encode(body | {"exp": now + int(ttl.total_seconds())}, self._secret, "HS256")

    def login_claims(self, login_token: str | None, returned_state: str | None) -> dict[str, Any]:
        """The login in progress whose state came back; SignInRefused if none or another."""
        if not login_token or not returned_state:
            raise SignInRefused("signin.state", 400, "no login in progress")
        try:
            claims = self._logins.claims(login_token, required=_LOGIN_CLAIMS)
        except AuthenticationError as exc:
            raise SignInRefused("signin.state", 400, f"login token: {exc.reason}") from exc
        if not hmac.compare_digest(str(claims["state"]).encode(), returned_state.encode()):
            raise SignInRefused("signin.state", 400, "state mismatch")
        return claims

    async def finish(self, login: dict[str, Any], code: str, redirect_url: str) -> Principal:
        """Trade ``code`` for tokens and return who the verified ID token names."""
        metadata = await self.metadata()
        async with self._client(redirect_url) as client:
            try:
                token = await client.fetch_token(
                    metadata.token_endpoint,
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=login["verifier"],
                )
            except OAuthError as exc:
                raise SignInRefused(
                    "signin.code_refused", 401, f"token endpoint: {exc.error}"
                ) from exc
            except (httpx.HTTPError, ValueError) as exc:
                raise SignInRefused("signin.provider_down", 503, "token endpoint failed") from exc
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise SignInRefused("signin.bad_token", 401, "no ID token")
        claims = await self._verified_id_token(id_token, login["nonce"])
        try:
            return principal_from_provider_claims(
                claims, self.claim_names, default_services=(SERVICE,)
            )
        except NoUsableRoleError as exc:
            raise SignInRefused("signin.no_role", 403, exc.reason) from exc
        except AuthenticationError as exc:
            raise SignInRefused("signin.bad_claims", 403, exc.reason) from exc

    async def _verified_id_token(self, id_token: str, nonce: str) -> dict[str, Any]:
        verifier = self._id_tokens
        assert verifier is not None  # set by metadata()
        try:
            claims = await run_in_threadpool(verifier.claims, id_token, _ID_TOKEN_CLAIMS)
        except KeySetUnavailableError as exc:
            raise SignInRefused("signin.provider_down", 503, "JWKS unavailable") from exc
        except AuthenticationError as exc:
            raise SignInRefused("signin.bad_token", 401, f"ID token: {exc.reason}") from exc
        if not hmac.compare_digest(str(claims["nonce"]).encode(), nonce.encode()):
            raise SignInRefused("signin.bad_token", 401, "ID token: nonce mismatch")
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.client_id:
            # OIDC Core §3.1.3.7: with several audiences, azp must name this client.
            raise SignInRefused("signin.bad_token", 401, "ID token: azp is another client")
        return claims

    def session_token(self, principal: Principal) -> str:
        """The dashboard session token for ``principal`` (checked by :attr:`sessions`)."""
        return mint_token(
            self._secret,
            subject=principal.subject,
            role=principal.role,
            services=principal.services,
            communes=principal.communes,
            ttl=self._session_ttl,
            issuer=SESSION_ISSUER,
            audience=SESSION_ISSUER,
        )

    async def logout_url(self, after_logout_url: str) -> str | None:
        """The provider's end-session URL (RP-initiated logout), if it advertises one."""
        try:
            metadata = await self.metadata()
        except SignInRefused:
            return None  # the provider is down: the local session is cleared all the same
        if not metadata.end_session_endpoint:
            return None
        query = urlencode(
            {"client_id": self.client_id, "post_logout_redirect_uri": after_logout_url}
        )
        separator = "&" if "?" in metadata.end_session_endpoint else "?"
        return f"{metadata.end_session_endpoint}{separator}{query}"


async def start_sign_in(runtime: ServiceRuntime) -> None:
    """Start-up: sign-in with the provider when ``dashboard_oidc_issuer`` is set."""
    settings = runtime.settings
    if not isinstance(settings, AuditSettings):
        raise TypeError("the audit service runs with AuditSettings")
    configured = settings.dashboard_oidc_issuer is not None
    sign_in = ProviderSignIn(settings, session_secret(settings)) if configured else None
    runtime.extras[_EXTRA] = sign_in


def sign_in_of(request: Request) -> ProviderSignIn | None:
    """The app's provider sign-in, None when no provider is configured."""
    runtime: ServiceRuntime = request.app.state.runtime
    sign_in: ProviderSignIn | None = runtime.extras.get(_EXTRA)
    return sign_in
