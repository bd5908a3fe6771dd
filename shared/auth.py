"""Bearer-token authentication and role/commune authorisation for every service API.

Tokens are JWTs (``Authorization: Bearer <JWT>``) carrying ``sub``, ``role``,
``services``, ``communes``, ``iat``, ``exp``, ``iss``, ``aud`` and ``jti``. In embedded
mode they are HS256-signed with a generated local secret
(:func:`load_or_create_local_secret`, :func:`mint_token`); in production they come
from an OIDC provider and are verified against its JWKS (RS256, ES256 or EdDSA).

Roles:

* ``operator`` — a commune/district officer; acts only in the services and communes
  listed in the token (both lists must be non-empty; ``"*"`` in communes means all).
* ``inspector`` — reads everything, writes nothing.
* ``partner`` — a partner agency; reads everything it is served, writes nothing. The
  endpoints open to partners serve pseudonymised data only; an endpoint returning
  personal data must keep partners out with ``require_roles``.
* ``admin`` — passes every check.
* ``service`` — a platform service's own identity (``sub`` names it), used when one
  service reads personal data from another's API; reads everything, writes nothing,
  and every read it makes is logged.

Wiring::

    install_auth(app, TokenVerifier(AuthConfig(jwt_secret=secret)), service="households")

    @router.post("/households")
    async def register_household(body: NewHousehold, principal: CurrentPrincipal): ...
        authorize_write(principal, "households", body.commune_code)
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import jwt
import structlog
from fastapi import Depends, FastAPI, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from shared.problems import Forbidden, Problem, Unauthorized

ALL_COMMUNES = "*"
HS_ALGORITHM = "HS256"
# Asymmetric only: a JWKS never supplies an HMAC secret, so a token cannot be
# "signed" with a published public key (algorithm confusion).
JWKS_ALGORITHMS = frozenset({"RS256", "ES256", "EdDSA"})
_REQUIRED_CLAIMS = ["sub", "role", "iat", "exp", "iss", "aud"]

_logger = structlog.get_logger(__name__)


class Role(StrEnum):
    """What a principal is; see the module docstring for what each may do."""

    OPERATOR = "operator"
    INSPECTOR = "inspector"
    PARTNER = "partner"
    ADMIN = "admin"
    SERVICE = "service"  # a platform service calling another service's API


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of a request."""

    subject: str
    role: Role
    services: frozenset[str]
    communes: frozenset[str]
    token_id: str | None = None

    def covers_commune(self, code: str) -> bool:
        """Whether the token names commune ``code`` (or all communes, ``"*"``)."""
        return ALL_COMMUNES in self.communes or code in self.communes

    def covers_service(self, name: str) -> bool:
        """Whether the token names service ``name``."""
        return name in self.services


class AuthenticationError(Exception):
    """A token was missing or could not be accepted; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class KeySetUnavailableError(AuthenticationError):
    """The JWKS endpoint could not be reached: the token is not known to be bad."""


def mint_token(
    secret: str,
    *,
    subject: str,
    role: Role | str,
    services: Iterable[str] = (),
    communes: Iterable[str] = (),
    ttl: timedelta = timedelta(hours=8),
    issuer: str = "ansinh-local",
    audience: str = "ansinh",
) -> str:
    """An HS256 token for embedded mode (CLI, launcher, tests)."""
    now = datetime.now(UTC)
    claims = {
        "sub": subject,
        "role": str(Role(role)),
        "services": sorted(services),
        "communes": sorted(communes),
        "iat": now,
        "exp": now + ttl,
        "iss": issuer,
        "aud": audience,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, secret, algorithm=HS_ALGORITHM)


def load_or_create_local_secret(path: Path) -> str:
    """The embedded-mode signing secret stored at ``path``, created (mode 0600) if absent.

    Safe when several services start at once: exactly one secret ever lands at
    ``path`` and every process reads that one.
    """
    if path.exists():
        return _read_secret(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".secret-")  # mode 0600
    try:
        with os.fdopen(fd, "w") as tmp:
            tmp.write(secrets.token_hex(32))
            tmp.flush()
            os.fsync(tmp.fileno())
        # link() fails if another process created the secret first; theirs wins.
        with contextlib.suppress(FileExistsError):
            os.link(tmp_name, path)
    finally:
        os.unlink(tmp_name)
    return _read_secret(path)


def _read_secret(path: Path) -> str:
    secret = path.read_text().strip()
    if not secret:
        raise ValueError(f"the JWT secret file {path} is empty")
    return secret


@dataclass
class AuthConfig:
    """How tokens are verified: ``jwt_secret`` (HS256) or ``jwks_url`` (OIDC), not both."""

    jwt_secret: str | None = None
    jwks_url: str | None = None
    issuer: str = "ansinh-local"
    audience: str = "ansinh"
    leeway_seconds: int = 30


# Most specific first: each subclass precedes its base class.
_REJECTION_REASONS: tuple[tuple[type[Exception], str], ...] = (
    (jwt.ExpiredSignatureError, "token expired"),
    (jwt.ImmatureSignatureError, "token not yet valid"),
    (jwt.InvalidAudienceError, "token not issued for this audience"),
    (jwt.InvalidIssuerError, "token from an unknown issuer"),
    (jwt.MissingRequiredClaimError, "token lacks a required claim"),
    (jwt.InvalidAlgorithmError, "token signed with a disallowed algorithm"),
    (jwt.InvalidSignatureError, "token signature invalid"),
    (jwt.PyJWKClientError, "token signed with an unknown key"),
)


#: A verified token is remembered, by its exact text, this long at most and never past its
#: expiry: clients send the same token with every request, and checking its signature and
#: claims again costs as much as the rest of a small read.
VERIFIED_TOKEN_SECONDS = 60.0
_VERIFIED_TOKENS_KEPT = 1024


class TokenVerifier:
    """Turns a bearer token into a :class:`Principal`, or raises :class:`AuthenticationError`."""

    def __init__(self, config: AuthConfig) -> None:
        if (config.jwt_secret is None) == (config.jwks_url is None):
            raise ValueError("configure exactly one of jwt_secret and jwks_url")
        self.config = config
        self._jwks = (
            jwt.PyJWKClient(config.jwks_url, cache_keys=True, timeout=10)
            if config.jwks_url
            else None
        )
        self._verified: dict[str, tuple[Principal, float]] = {}

    @property
    def uses_network(self) -> bool:
        """True when verifying may fetch keys over HTTP (so async callers use a thread)."""
        return self._jwks is not None

    def verify(self, token: str) -> Principal:
        """The principal the token names, if its signature, issuer, audience and times check out."""
        now = time.time()
        known = self._verified.get(token)
        if known is not None and now < known[1]:
            return known[0]
        principal, expires = self._verify(token)
        if len(self._verified) >= _VERIFIED_TOKENS_KEPT:
            self._verified.clear()
        # Valid until exp + leeway (as jwt.decode checks it); iat and nbf only get older.
        self._verified[token] = (principal, min(expires, now + VERIFIED_TOKEN_SECONDS))
        return principal

    def _verify(self, token: str) -> tuple[Principal, float]:
        claims = self.claims(token)
        return principal_from_claims(claims), float(claims["exp"]) + self.config.leeway_seconds

    def claims(self, token: str, required: Iterable[str] = _REQUIRED_CLAIMS) -> dict[str, Any]:
        """The claims of ``token`` once its signature, issuer, audience and times check out.

        ``required`` names the claims it must carry (by default those of a platform token;
        an OpenID Connect ID token is checked with its own list).
        """
        try:
            key, algorithms = self._key_for(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=self.config.audience,
                issuer=self.config.issuer,
                leeway=self.config.leeway_seconds,
                options={"require": list(required)},
            )
        except jwt.PyJWKClientConnectionError as exc:
            raise KeySetUnavailableError("signing keys unavailable") from exc
        except jwt.PyJWTError as exc:
            reason = next(
                (text for kind, text in _REJECTION_REASONS if isinstance(exc, kind)),
                "token malformed",
            )
            raise AuthenticationError(reason) from exc
        return claims

    def _key_for(self, token: str) -> tuple[Any, list[str]]:
        if self._jwks is None:
            return self.config.jwt_secret, [HS_ALGORITHM]
        signing_key = self._signing_key(self._jwks, token)
        if signing_key.algorithm_name not in JWKS_ALGORITHMS:
            raise jwt.InvalidAlgorithmError(f"JWKS key uses {signing_key.algorithm_name}")
        # Only the key's own algorithm: the token header cannot pick another one.
        return signing_key.key, [signing_key.algorithm_name]

    @staticmethod
    def _signing_key(jwks: jwt.PyJWKClient, token: str) -> jwt.PyJWK:
        if jwt.get_unverified_header(token).get("kid") is not None:
            return jwks.get_signing_key_from_jwt(token)
        # OIDC Core §10.1: a token may omit kid when the set holds a single signing key.
        keys = jwks.get_signing_keys()
        if len(keys) != 1:
            raise jwt.PyJWKClientError("token names no key and the key set has several")
        return keys[0]


def _string_set(claims: Mapping[str, Any], name: str) -> frozenset[str]:
    value = claims.get(name, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise AuthenticationError(f"claim {name!r} must be a list of strings")
    return frozenset(value)


def principal_from_claims(claims: Mapping[str, Any]) -> Principal:
    """The principal described by verified token claims; rejects incoherent scopes."""
    try:
        role = Role(claims["role"])
    except (KeyError, ValueError) as exc:
        raise AuthenticationError("token has an unknown role") from exc
    principal = Principal(
        subject=str(claims["sub"]),
        role=role,
        services=_string_set(claims, "services"),
        communes=_string_set(claims, "communes"),
        token_id=claims.get("jti"),
    )
    if role is Role.OPERATOR and not (principal.services and principal.communes):
        raise AuthenticationError("operator token must name at least one service and commune")
    return principal


# --- FastAPI integration -------------------------------------------------------------

_bearer = HTTPBearer(auto_error=False, description="JWT issued by An Sinh or its OIDC provider")


def install_auth(app: FastAPI, verifier: TokenVerifier, service: str) -> None:
    """Make :data:`CurrentPrincipal` work in ``app``, the API of ``service``."""
    app.state.token_verifier = verifier
    app.state.auth_service = service


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller, from ``Authorization: Bearer …``; a 401 problem if absent or rejected."""
    verifier: TokenVerifier = request.app.state.token_verifier
    if credentials is None:
        raise Unauthorized("A bearer token is required.")
    try:
        if verifier.uses_network:
            principal = await run_in_threadpool(verifier.verify, credentials.credentials)
        else:
            principal = verifier.verify(credentials.credentials)
    except KeySetUnavailableError as exc:
        # The provider is down, not the token bad: a 401 would send users to log in again.
        raise Problem(503, detail="Token signing keys are unavailable; retry later.") from exc
    except AuthenticationError as exc:
        raise Unauthorized(f"Invalid bearer token: {exc.reason}.", error="invalid_token") from exc
    structlog.contextvars.bind_contextvars(subject=principal.subject, role=str(principal.role))
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency returning the caller if it has one of ``roles`` (admin always does)."""
    allowed = frozenset(roles) | {Role.ADMIN}

    async def principal_with_role(principal: CurrentPrincipal) -> Principal:
        if principal.role not in allowed:
            raise Forbidden(f"Role {principal.role} may not do this.")
        return principal

    return principal_with_role


def authorize_write(principal: Principal, service: str, commune: str) -> None:
    """Allow a change in ``commune`` through ``service``, or raise a 403 problem.

    Operators need both in scope; admins always pass; inspectors, partners and
    service identities never write (services change each other only through events).
    """
    if principal.role is Role.ADMIN:
        return
    if principal.role is not Role.OPERATOR:
        raise Forbidden(f"Role {principal.role} may not make changes.")
    if not principal.covers_service(service):
        raise Forbidden(f"Not authorised to act in service {service}.")
    if not principal.covers_commune(commune):
        raise Forbidden(f"Not authorised to act in commune {commune}.")


def authorize_read(principal: Principal, service: str, commune: str | None) -> None:
    """Allow reading ``service`` data of ``commune``, or raise a 403 problem.

    Operators read their own communes, from any service; everyone else reads all
    communes (partners because what they are served is pseudonymised). ``commune``
    None means a read not tied to one commune, e.g. a list to be filtered with
    :func:`readable_communes`. Reads by service identities are logged.
    """
    operator = principal.role is Role.OPERATOR
    if operator and commune is not None and not principal.covers_commune(commune):
        raise Forbidden(f"Not authorised to read commune {commune}.")
    if principal.role is Role.SERVICE:
        _logger.info("service_read", caller=principal.subject, service=service, commune=commune)


def readable_communes(principal: Principal) -> frozenset[str] | None:
    """The communes a list may show to ``principal``; None means all of them."""
    if principal.role is Role.OPERATOR and ALL_COMMUNES not in principal.communes:
        return principal.communes
    return None
