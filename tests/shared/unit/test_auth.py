"""Bearer-token authentication and authorisation, through a real FastAPI app and real JWTs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import stat
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import structlog
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from fastapi import Depends, FastAPI

from shared.auth import (
    AuthConfig,
    CurrentPrincipal,
    Principal,
    Role,
    TokenVerifier,
    authorize_read,
    authorize_write,
    install_auth,
    load_or_create_local_secret,
    mint_token,
    readable_communes,
    require_roles,
)
from shared.problems import PROBLEM_MEDIA_TYPE, install_problem_handlers

SECRET = "a" * 64
IDP_ISSUER = "https://idp.ansinh.test/realms/ansinh"
NHON_HUNG, AN_CU = "30316", "30301"


def build_app(verifier: TokenVerifier) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    install_auth(app, verifier, service="households")

    @app.get("/me")
    async def me(principal: CurrentPrincipal) -> dict[str, Any]:
        logged = structlog.contextvars.get_contextvars()
        return {
            "subject": principal.subject,
            "role": principal.role,
            "services": sorted(principal.services),
            "communes": sorted(principal.communes),
            "token_id": principal.token_id,
            "logged_as": [logged.get("subject"), logged.get("role")],
        }

    @app.post("/communes/{commune}/households", status_code=201)
    async def register_household(commune: str, principal: CurrentPrincipal) -> None:
        authorize_write(principal, "households", commune)

    @app.get("/communes/{commune}/households")
    async def list_commune_households(commune: str, principal: CurrentPrincipal) -> None:
        authorize_read(principal, "households", commune)

    @app.get("/households")
    async def list_households(principal: CurrentPrincipal) -> dict[str, Any]:
        authorize_read(principal, "households", None)
        communes = readable_communes(principal)
        return {"communes": None if communes is None else sorted(communes)}

    @app.get("/trail", dependencies=[Depends(require_roles(Role.INSPECTOR))])
    async def trail() -> dict[str, str]:
        return {"trail": "ok"}

    return app


@pytest.fixture(autouse=True)
def _clean_log_context() -> Iterator[None]:
    # The app runs in the test's own task, so its log bindings would leak between tests.
    structlog.contextvars.clear_contextvars()
    yield
    structlog.contextvars.clear_contextvars()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(TokenVerifier(AuthConfig(jwt_secret=SECRET)))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://ansinh.test"
    ) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def operator_token(
    communes: tuple[str, ...] = (NHON_HUNG,), services: tuple[str, ...] = ("households",)
) -> str:
    return mint_token(
        SECRET, subject="officer-1", role=Role.OPERATOR, services=services, communes=communes
    )


def token_for(role: Role) -> str:
    return mint_token(SECRET, subject=f"{role}-1", role=role)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(token: str, header: dict[str, Any], key: bytes | None) -> str:
    """``token``'s claims under a new header, HMAC-signed with ``key`` (unsigned if None)."""
    claims = jwt.decode(token, options={"verify_signature": False})
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    if key is None:
        return signing_input + "."
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def assert_unauthorized(response: httpx.Response, reason: str | None = None) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.headers["www-authenticate"].startswith("Bearer")
    if reason is not None:
        assert reason in response.json()["detail"]


class TestAuthentication:
    async def test_valid_token_yields_the_principal(self, client: httpx.AsyncClient) -> None:
        token = operator_token()

        response = await client.get("/me", headers=bearer(token))

        assert response.status_code == 200
        assert response.json() == {
            "subject": "officer-1",
            "role": "operator",
            "services": ["households"],
            "communes": [NHON_HUNG],
            "token_id": jwt.decode(token, options={"verify_signature": False})["jti"],
            "logged_as": ["officer-1", "operator"],
        }

    async def test_missing_header_is_challenged(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/me")

        assert_unauthorized(response)
        assert response.headers["www-authenticate"] == "Bearer"

    @pytest.mark.parametrize(
        "authorization", ["Bearer not-a-jwt", "Bearer a.b.c", "Basic b2ZmaWNlcjpwdw==", "Bearer"]
    )
    async def test_malformed_credentials_are_rejected(
        self, client: httpx.AsyncClient, authorization: str
    ) -> None:
        assert_unauthorized(await client.get("/me", headers={"Authorization": authorization}))

    async def test_invalid_token_names_the_rfc6750_error(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/me", headers=bearer("not-a-jwt"))

        assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'

    async def test_expired_token_is_rejected(self, client: httpx.AsyncClient) -> None:
        token = mint_token(
            SECRET, subject="inspector-1", role=Role.INSPECTOR, ttl=timedelta(minutes=-5)
        )

        assert_unauthorized(await client.get("/me", headers=bearer(token)), "expired")

    async def test_clock_skew_within_leeway_is_tolerated(self, client: httpx.AsyncClient) -> None:
        token = mint_token(
            SECRET, subject="inspector-1", role=Role.INSPECTOR, ttl=timedelta(seconds=-5)
        )

        assert (await client.get("/me", headers=bearer(token))).status_code == 200

    async def test_wrong_secret_is_rejected(self, client: httpx.AsyncClient) -> None:
        token = mint_token("b" * 64, subject="inspector-1", role=Role.INSPECTOR)

        assert_unauthorized(await client.get("/me", headers=bearer(token)), "signature")

    async def test_wrong_audience_is_rejected(self, client: httpx.AsyncClient) -> None:
        token = mint_token(SECRET, subject="i-1", role=Role.INSPECTOR, audience="other-app")

        assert_unauthorized(await client.get("/me", headers=bearer(token)), "audience")

    async def test_wrong_issuer_is_rejected(self, client: httpx.AsyncClient) -> None:
        token = mint_token(SECRET, subject="i-1", role=Role.INSPECTOR, issuer="elsewhere")

        assert_unauthorized(await client.get("/me", headers=bearer(token)), "issuer")

    async def test_unsigned_alg_none_token_is_rejected(self, client: httpx.AsyncClient) -> None:
        unsigned = forge(token_for(Role.ADMIN), {"alg": "none", "typ": "JWT"}, key=None)

        assert_unauthorized(await client.get("/me", headers=bearer(unsigned)))

    async def test_forged_header_keeps_a_valid_signature_check(
        self, client: httpx.AsyncClient
    ) -> None:
        # Sanity check of forge(): re-signed with the right secret it is accepted.
        reforged = forge(token_for(Role.ADMIN), {"alg": "HS256", "typ": "JWT"}, SECRET.encode())

        assert (await client.get("/me", headers=bearer(reforged))).status_code == 200

    @pytest.mark.parametrize(
        ("services", "communes"), [(("households",), ()), ((), (NHON_HUNG,)), ((), ())]
    )
    async def test_operator_without_scope_is_rejected(
        self, client: httpx.AsyncClient, services: tuple[str, ...], communes: tuple[str, ...]
    ) -> None:
        token = operator_token(communes=communes, services=services)

        assert_unauthorized(await client.get("/me", headers=bearer(token)), "operator")

    async def test_unknown_role_is_rejected(self, client: httpx.AsyncClient) -> None:
        claims = jwt.decode(token_for(Role.ADMIN), options={"verify_signature": False})
        token = jwt.encode({**claims, "role": "superuser"}, SECRET, algorithm="HS256")

        assert_unauthorized(await client.get("/me", headers=bearer(token)), "role")


class TestAuthorisation:
    async def test_operator_writes_in_own_commune(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            f"/communes/{NHON_HUNG}/households", headers=bearer(operator_token())
        )

        assert response.status_code == 201

    async def test_operator_cannot_write_in_another_commune(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.post(
            f"/communes/{AN_CU}/households", headers=bearer(operator_token())
        )

        assert response.status_code == 403
        assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
        assert AN_CU in response.json()["detail"]

    async def test_operator_cannot_write_in_another_service(
        self, client: httpx.AsyncClient
    ) -> None:
        token = operator_token(services=("insurance",))

        response = await client.post(f"/communes/{NHON_HUNG}/households", headers=bearer(token))

        assert response.status_code == 403

    async def test_operator_with_all_communes_writes_anywhere(
        self, client: httpx.AsyncClient
    ) -> None:
        token = operator_token(communes=("*",))

        response = await client.post(f"/communes/{AN_CU}/households", headers=bearer(token))

        assert response.status_code == 201

    @pytest.mark.parametrize("role", [Role.INSPECTOR, Role.PARTNER, Role.SERVICE])
    async def test_non_operators_never_write(self, client: httpx.AsyncClient, role: Role) -> None:
        response = await client.post(
            f"/communes/{NHON_HUNG}/households", headers=bearer(token_for(role))
        )

        assert response.status_code == 403

    async def test_admin_writes_anywhere(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            f"/communes/{AN_CU}/households", headers=bearer(token_for(Role.ADMIN))
        )

        assert response.status_code == 201

    async def test_operator_reads_only_own_communes(self, client: httpx.AsyncClient) -> None:
        token = operator_token(services=("insurance",))

        own = await client.get(f"/communes/{NHON_HUNG}/households", headers=bearer(token))
        other = await client.get(f"/communes/{AN_CU}/households", headers=bearer(token))

        assert own.status_code == 200
        assert other.status_code == 403

    @pytest.mark.parametrize("role", [Role.INSPECTOR, Role.PARTNER, Role.SERVICE, Role.ADMIN])
    async def test_other_roles_read_every_commune(
        self, client: httpx.AsyncClient, role: Role
    ) -> None:
        response = await client.get(
            f"/communes/{AN_CU}/households", headers=bearer(token_for(role))
        )

        assert response.status_code == 200

    async def test_lists_are_filtered_to_the_operators_communes(
        self, client: httpx.AsyncClient
    ) -> None:
        scoped = operator_token(communes=(NHON_HUNG, AN_CU))

        operator_view = await client.get("/households", headers=bearer(scoped))
        everywhere = await client.get("/households", headers=bearer(operator_token(("*",))))
        inspector_view = await client.get("/households", headers=bearer(token_for(Role.INSPECTOR)))

        assert operator_view.json() == {"communes": sorted([NHON_HUNG, AN_CU])}
        assert everywhere.json() == {"communes": None}
        assert inspector_view.json() == {"communes": None}

    @pytest.mark.parametrize(
        ("role", "status"),
        [(Role.INSPECTOR, 200), (Role.ADMIN, 200), (Role.PARTNER, 403), (Role.SERVICE, 403)],
    )
    async def test_require_roles(self, client: httpx.AsyncClient, role: Role, status: int) -> None:
        response = await client.get("/trail", headers=bearer(token_for(role)))

        assert response.status_code == status

    async def test_require_roles_still_needs_a_token(self, client: httpx.AsyncClient) -> None:
        assert_unauthorized(await client.get("/trail"))


class TestVerifierConfiguration:
    def test_exactly_one_key_source(self) -> None:
        with pytest.raises(ValueError):
            TokenVerifier(AuthConfig())
        with pytest.raises(ValueError):
            TokenVerifier(AuthConfig(jwt_secret=SECRET, jwks_url="http://127.0.0.1:1/jwks"))

    def test_verify_returns_the_principal(self) -> None:
        token = operator_token(communes=(NHON_HUNG, AN_CU))

        principal = TokenVerifier(AuthConfig(jwt_secret=SECRET)).verify(token)

        assert principal == Principal(
            subject="officer-1",
            role=Role.OPERATOR,
            services=frozenset({"households"}),
            communes=frozenset({NHON_HUNG, AN_CU}),
            token_id=principal.token_id,
        )
        assert principal.token_id
        assert principal.covers_commune(AN_CU) and not principal.covers_commune("30399")
        assert principal.covers_service("households") and not principal.covers_service("housing")


class TestLocalSecret:
    def test_created_private_and_reused(self, tmp_path: Path) -> None:
        path = tmp_path / "state" / "auth" / "jwt.secret"

        first = load_or_create_local_secret(path)
        second = load_or_create_local_secret(path)

        assert first == second
        assert len(bytes.fromhex(first)) == 32
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert list(path.parent.iterdir()) == [path]

    def test_existing_secret_is_kept(self, tmp_path: Path) -> None:
        path = tmp_path / "jwt.secret"
        path.write_text("c" * 64 + "\n")

        assert load_or_create_local_secret(path) == "c" * 64


# --- JWKS (production mode) ---------------------------------------------------------


class KeyPairs:
    def __init__(self) -> None:
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ed25519 = ed25519.Ed25519PrivateKey.generate()
        self.oct_secret = b"s" * 32

    def jwks(self) -> dict[str, Any]:
        rsa_jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self.rsa.public_key(), as_dict=True)
        ed_jwk = jwt.algorithms.OKPAlgorithm.to_jwk(self.ed25519.public_key(), as_dict=True)
        oct_jwk = {"kty": "oct", "k": b64url(self.oct_secret)}
        return {
            "keys": [
                {**rsa_jwk, "kid": "rsa-1", "use": "sig"},
                {**ed_jwk, "kid": "ed-1", "use": "sig"},
                {**oct_jwk, "kid": "oct-1", "use": "sig"},
            ]
        }

    def rsa_public_pem(self) -> bytes:
        return self.rsa.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


@pytest.fixture(scope="module")
def keys() -> KeyPairs:
    return KeyPairs()


@pytest.fixture(scope="module")
def jwks_url(keys: KeyPairs) -> Iterator[str]:
    document = json.dumps(keys.jwks()).encode()

    class JWKSHandler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(document)))
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), JWKSHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/realms/ansinh/certs"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
async def idp_client(jwks_url: str) -> AsyncIterator[httpx.AsyncClient]:
    verifier = TokenVerifier(AuthConfig(jwks_url=jwks_url, issuer=IDP_ISSUER))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=build_app(verifier)), base_url="http://ansinh.test"
    ) as client:
        yield client


def idp_claims() -> dict[str, Any]:
    claims = jwt.decode(
        mint_token(SECRET, subject="inspector-7", role=Role.INSPECTOR, issuer=IDP_ISSUER),
        options={"verify_signature": False},
    )
    return dict(claims)


class TestJWKS:
    async def test_rs256_token_from_the_provider_is_accepted(
        self, idp_client: httpx.AsyncClient, keys: KeyPairs
    ) -> None:
        token = jwt.encode(idp_claims(), keys.rsa, algorithm="RS256", headers={"kid": "rsa-1"})

        response = await idp_client.get("/me", headers=bearer(token))

        assert response.status_code == 200
        assert response.json()["subject"] == "inspector-7"

    async def test_eddsa_token_from_the_provider_is_accepted(
        self, idp_client: httpx.AsyncClient, keys: KeyPairs
    ) -> None:
        token = jwt.encode(idp_claims(), keys.ed25519, algorithm="EdDSA", headers={"kid": "ed-1"})

        assert (await idp_client.get("/me", headers=bearer(token))).status_code == 200

    async def test_hs256_signed_with_the_public_key_is_rejected(
        self, idp_client: httpx.AsyncClient, keys: KeyPairs
    ) -> None:
        genuine = jwt.encode(idp_claims(), keys.rsa, algorithm="RS256")
        forged = forge(
            genuine, {"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}, keys.rsa_public_pem()
        )

        assert_unauthorized(await idp_client.get("/me", headers=bearer(forged)), "algorithm")

    async def test_symmetric_key_in_the_jwks_is_never_used(
        self, idp_client: httpx.AsyncClient, keys: KeyPairs
    ) -> None:
        token = jwt.encode(
            idp_claims(), keys.oct_secret, algorithm="HS256", headers={"kid": "oct-1"}
        )

        assert_unauthorized(await idp_client.get("/me", headers=bearer(token)), "algorithm")

    async def test_alg_none_is_rejected(
        self, idp_client: httpx.AsyncClient, keys: KeyPairs
    ) -> None:
        genuine = jwt.encode(idp_claims(), keys.rsa, algorithm="RS256")
        unsigned = forge(genuine, {"alg": "none", "typ": "JWT", "kid": "rsa-1"}, key=None)

        assert_unauthorized(await idp_client.get("/me", headers=bearer(unsigned)))

    async def test_unknown_key_id_is_rejected(
        self, idp_client: httpx.AsyncClient, keys: KeyPairs
    ) -> None:
        token = jwt.encode(idp_claims(), keys.rsa, algorithm="RS256", headers={"kid": "rotated"})

        assert_unauthorized(await idp_client.get("/me", headers=bearer(token)), "unknown key")

    async def test_foreign_rsa_key_is_rejected(self, idp_client: httpx.AsyncClient) -> None:
        stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        token = jwt.encode(idp_claims(), stranger, algorithm="RS256", headers={"kid": "rsa-1"})

        assert_unauthorized(await idp_client.get("/me", headers=bearer(token)), "signature")

    async def test_unreachable_provider_is_503_not_401(self, keys: KeyPairs) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            closed_port = probe.getsockname()[1]
        verifier = TokenVerifier(
            AuthConfig(jwks_url=f"http://127.0.0.1:{closed_port}/certs", issuer=IDP_ISSUER)
        )
        token = jwt.encode(idp_claims(), keys.rsa, algorithm="RS256", headers={"kid": "rsa-1"})
        transport = httpx.ASGITransport(app=build_app(verifier))

        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get("/me", headers=bearer(token))

        assert response.status_code == 503
        assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
