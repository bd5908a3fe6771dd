"""An identity provider's claims become the platform's Principal (shared.provider_claims)."""

from __future__ import annotations

from typing import Any

import jwt
import pytest

from shared.auth import AuthConfig, AuthenticationError, Role, TokenVerifier
from shared.provider_claims import (
    NoUsableRoleError,
    ProviderClaimNames,
    claim_at,
    platform_role,
    principal_from_provider_claims,
)

AN_CU, NHON_HUNG = "30526", "30511"


def person(**claims: Any) -> dict[str, Any]:
    return {"sub": "lan", **claims}


class TestRoles:
    def test_a_roles_claim_gives_the_role(self) -> None:
        principal = principal_from_provider_claims(person(roles=["inspector"]))
        assert (principal.subject, principal.role) == ("lan", Role.INSPECTOR)

    def test_keycloak_realm_roles_are_read_by_default(self) -> None:
        claims = person(realm_access={"roles": ["default-roles-ansinh", "inspector"]})
        assert principal_from_provider_claims(claims).role is Role.INSPECTOR

    def test_keycloak_client_roles_by_a_configured_path(self) -> None:
        names = ProviderClaimNames(roles=("resource_access.ansinh-dashboard.roles",))
        claims = person(resource_access={"ansinh-dashboard": {"roles": ["admin"]}})
        assert platform_role(claims, names) is Role.ADMIN

    def test_the_role_that_reads_most_wins(self) -> None:
        claims = person(roles=["partner", "operator", "inspector"], communes=[AN_CU])
        assert principal_from_provider_claims(claims).role is Role.INSPECTOR
        assert platform_role(person(roles=["inspector", "admin"]), ProviderClaimNames()) is (
            Role.ADMIN
        )

    def test_roles_from_every_listed_claim_are_gathered(self) -> None:
        claims = person(roles=["offline_access"], realm_access={"roles": ["partner"]})
        assert principal_from_provider_claims(claims).role is Role.PARTNER

    def test_a_space_separated_string_is_a_list(self) -> None:
        assert principal_from_provider_claims(person(roles="uma_authorization admin")).role is (
            Role.ADMIN
        )

    @pytest.mark.parametrize(
        "claims",
        [
            person(),
            person(roles=[]),
            person(roles=["offline_access", "Inspector"]),  # names are exact
            person(roles=["service"]),  # a machine identity, never a person's sign-in
            person(realm_access=["inspector"]),  # not where the path points
        ],
    )
    def test_no_platform_role_is_refused(self, claims: dict[str, Any]) -> None:
        with pytest.raises(NoUsableRoleError):
            principal_from_provider_claims(claims)

    def test_a_roles_claim_of_the_wrong_shape_is_refused(self) -> None:
        with pytest.raises(AuthenticationError, match="list of strings"):
            principal_from_provider_claims(person(roles=[1, 2]))


class TestCommunesAndServices:
    def test_an_operator_gets_their_communes_and_the_default_service(self) -> None:
        claims = person(roles=["operator"], communes=[AN_CU, NHON_HUNG])
        principal = principal_from_provider_claims(claims, default_services=("audit",))
        assert principal.communes == {AN_CU, NHON_HUNG}
        assert principal.services == {"audit"}
        assert principal.covers_commune(AN_CU) and not principal.covers_commune("00001")

    def test_services_from_the_provider_replace_the_default(self) -> None:
        claims = person(roles=["operator"], communes=AN_CU, services=["households"])
        principal = principal_from_provider_claims(claims, default_services=("audit",))
        assert principal.services == {"households"} and principal.communes == {AN_CU}

    def test_an_operator_without_a_commune_has_no_usable_role(self) -> None:
        with pytest.raises(NoUsableRoleError, match="commune"):
            principal_from_provider_claims(person(roles=["operator"]), default_services=("a",))

    def test_an_operator_without_any_service_has_no_usable_role(self) -> None:
        with pytest.raises(NoUsableRoleError, match="service"):
            principal_from_provider_claims(person(roles=["operator"], communes=[AN_CU]))

    def test_all_communes_is_kept(self) -> None:
        claims = person(roles=["operator"], communes=["*"])
        assert principal_from_provider_claims(claims, default_services=("a",)).covers_commune(
            NHON_HUNG
        )

    @pytest.mark.parametrize("communes", [["An Cư"], ["3052"], [AN_CU, "30526; DROP"]])
    def test_something_else_than_commune_codes_is_refused(self, communes: list[str]) -> None:
        claims = person(roles=["inspector"], communes=communes)
        with pytest.raises(AuthenticationError, match="commune code"):
            principal_from_provider_claims(claims)

    def test_configured_claim_names(self) -> None:
        names = ProviderClaimNames(roles=("groups",), communes="ansinh.xa", services="svc")
        claims = person(groups=["operator"], ansinh={"xa": [AN_CU]}, svc=["housing"])
        principal = principal_from_provider_claims(claims, names)
        assert (principal.role, principal.communes, principal.services) == (
            Role.OPERATOR,
            {AN_CU},
            {"housing"},
        )

    def test_a_subject_is_required(self) -> None:
        with pytest.raises(AuthenticationError, match="subject"):
            principal_from_provider_claims({"roles": ["inspector"]})


def test_claim_at_reads_nested_and_dotted_names() -> None:
    claims = {"a": {"b": {"c": 1}}, "https://ansinh.vn/roles": ["admin"]}
    assert claim_at(claims, "a.b.c") == 1
    assert claim_at(claims, "https://ansinh.vn/roles") == ["admin"]
    assert claim_at(claims, "a.x.c") is None and claim_at(claims, "a.b.c.d") is None


def test_id_tokens_are_checked_by_the_bearer_token_verifier_with_their_own_claims() -> None:
    verifier = TokenVerifier(AuthConfig(jwt_secret="s" * 32, issuer="idp", audience="client"))
    body = {"sub": "lan", "iss": "idp", "aud": "client", "iat": 1, "exp": 2**40}
    required = ("sub", "iss", "aud", "exp", "iat", "nonce")
    with pytest.raises(AuthenticationError, match="required claim"):
        verifier.claims(jwt.encode(body, "s" * 32, "HS256"), required)
    token = jwt.encode(body | {"nonce": "n"}, "s" * 32, "HS256")
    assert verifier.claims(token, required)["nonce"] == "n"
    with pytest.raises(AuthenticationError, match="audience"):
        other = TokenVerifier(AuthConfig(jwt_secret="s" * 32, issuer="idp", audience="another"))
        other.claims(token, required)
