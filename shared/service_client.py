"""Calls from one service to another's HTTP API under the calling service's own identity.

A service that needs personal data asks the owning service (never its database), with a
token of role ``service``. In embedded mode the token is minted with the local secret; in
production it comes from the identity provider by the OAuth 2 client-credentials grant.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx

from shared.auth import Role, mint_token
from shared.problems import Problem

_REFRESH_MARGIN_SECONDS = 60


@dataclass
class ClientCredentials:
    token_url: str
    client_id: str
    client_secret: str
    scope: str | None = None


class ServiceTokens:
    """Bearer tokens for ``service``, cached until shortly before they expire."""

    def __init__(
        self,
        service: str,
        *,
        local_secret: str | None = None,
        credentials: ClientCredentials | None = None,
        issuer: str = "ansinh-local",
        audience: str = "ansinh",
    ) -> None:
        if (local_secret is None) == (credentials is None):
            raise ValueError("give exactly one of local_secret or credentials")
        self.service = service
        self.local_secret = local_secret
        self.credentials = credentials
        self.issuer = issuer
        self.audience = audience
        self._token: str | None = None
        self._expires_at = 0.0

    async def token(self, http: httpx.AsyncClient) -> str:
        if self._token is None or time.monotonic() > self._expires_at - _REFRESH_MARGIN_SECONDS:
            self._token, lifetime = await self._fetch(http)
            self._expires_at = time.monotonic() + lifetime
        return self._token

    async def _fetch(self, http: httpx.AsyncClient) -> tuple[str, float]:
        if self.local_secret is not None:
            ttl = timedelta(minutes=15)
            token = mint_token(
                self.local_secret,
                subject=f"service:{self.service}",
                role=Role.SERVICE,
                services=[self.service],
                communes=["*"],
                ttl=ttl,
                issuer=self.issuer,
                audience=self.audience,
            )
            return token, ttl.total_seconds()
        assert self.credentials is not None
        form = {
            "grant_type": "client_credentials",
            "client_id": self.credentials.client_id,
            "client_secret": self.credentials.client_secret,
        }
        if self.credentials.scope:
            form["scope"] = self.credentials.scope
        response = await http.post(self.credentials.token_url, data=form)
        response.raise_for_status()
        body = response.json()
        return str(body["access_token"]), float(body.get("expires_in", 300))


class ServiceClient:
    """JSON over HTTP to another An Sinh service; errors surface as 502 problems with context."""

    def __init__(
        self,
        base_url: str,
        tokens: ServiceTokens,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.tokens = tokens
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout, transport=transport)

    async def get_json(self, path: str, **params: Any) -> Any:
        token = await self.tokens.token(self._http)
        try:
            response = await self._http.get(
                path, params=params, headers={"Authorization": f"Bearer {token}"}
            )
        except httpx.HTTPError as exc:
            raise Problem(502, detail=f"{self.base_url}{path} unreachable: {exc}") from exc
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise Problem(
                502,
                detail=f"{self.base_url}{path} answered {response.status_code}: "
                f"{response.text[:300]}",
            )
        return response.json()

    async def aclose(self) -> None:
        await self._http.aclose()
