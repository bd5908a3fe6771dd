"""An identity provider's claims about a person, mapped onto the platform's :class:`Principal`.

An OpenID Connect provider (Keycloak, or any other) says who signed in and, through claims
its administrator configures, which platform roles and communes that person has. Where
those claims live differs between providers, so their names are settings
(:class:`ProviderClaimNames`); a name may be a dotted path into nested claims, e.g.
Keycloak's ``realm_access.roles`` or ``resource_access.<client>.roles``.

A person holds one platform role at a time: when the provider grants several, the one
that reads most wins (admin, then inspector, operator, partner). The ``service`` role is
a machine identity and is never taken from a person's sign-in; provider roles the
platform does not know (Keycloak's ``offline_access``, ``default-roles-…``) are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from shared.auth import ALL_COMMUNES, AuthenticationError, Principal, Role

#: Most reading power first; the first one a person holds is their role.
ROLE_PRECEDENCE = (Role.ADMIN, Role.INSPECTOR, Role.OPERATOR, Role.PARTNER)
_COMMUNE_CODE = re.compile(r"^\d{5}$")


class NoUsableRoleError(AuthenticationError):
    """The provider vouched for the person but granted no platform role they can act in."""


@dataclass(frozen=True)
class ProviderClaimNames:
    """Where the provider puts each fact; every name may be a dotted path."""

    #: Roles are gathered from each of these claims that is present.
    roles: tuple[str, ...] = ("roles", "realm_access.roles")
    communes: str = "communes"
    services: str = "services"


def claim_at(claims: Mapping[str, Any], path: str) -> Any:
    """The value at ``path`` (``a.b.c``) in nested claims, or None where any step is absent.

    A claim whose own name contains dots (e.g. ``https://example.org/roles``) is found too:
    the whole path is tried as one name first.
    """
    if path in claims:
        return claims[path]
    value: Any = claims
    for step in path.split("."):
        if not isinstance(value, Mapping) or step not in value:
            return None
        value = value[step]
    return value


def _strings(value: Any, name: str) -> list[str]:
    """A claim holding one string (space or comma separated) or a list of strings."""
    if value is None:
        return []
    if isinstance(value, str):
        return [part for part in re.split(r"[\s,]+", value) if part]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return [item.strip() for item in value if item.strip()]
    raise AuthenticationError(f"claim {name!r} must be a string or a list of strings")


def platform_role(claims: Mapping[str, Any], names: ProviderClaimNames) -> Role:
    """The platform role the claims grant (see :data:`ROLE_PRECEDENCE`)."""
    granted = {role for path in names.roles for role in _strings(claim_at(claims, path), path)}
    for role in ROLE_PRECEDENCE:
        if role.value in granted:
            return role
    raise NoUsableRoleError("the provider grants no platform role")


def _communes(claims: Mapping[str, Any], names: ProviderClaimNames) -> frozenset[str]:
    codes = frozenset(_strings(claim_at(claims, names.communes), names.communes))
    malformed = sorted(c for c in codes if c != ALL_COMMUNES and not _COMMUNE_CODE.match(c))
    if malformed:
        raise AuthenticationError(f"claim {names.communes!r} holds no commune code: {malformed}")
    return codes


def principal_from_provider_claims(
    claims: Mapping[str, Any],
    names: ProviderClaimNames = ProviderClaimNames(),
    *,
    default_services: Iterable[str] = (),
) -> Principal:
    """The principal a verified ID token describes; :class:`NoUsableRoleError` if none.

    An operator must be given at least one commune. Their services come from the
    ``services`` claim, else ``default_services`` (the service the person signed in to).
    """
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise AuthenticationError("the provider named no subject")
    role = platform_role(claims, names)
    communes = _communes(claims, names)
    services = frozenset(_strings(claim_at(claims, names.services), names.services))
    if role is Role.OPERATOR:
        if not communes:
            raise NoUsableRoleError("an operator needs at least one commune")
        services = services or frozenset(default_services)
        if not services:
            raise NoUsableRoleError("an operator needs at least one service")
    return Principal(subject=subject, role=role, services=services, communes=communes)
