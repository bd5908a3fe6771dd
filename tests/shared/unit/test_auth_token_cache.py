"""A verified token is remembered by its exact text, never past its expiry."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from shared.auth import AuthConfig, AuthenticationError, Role, TokenVerifier, mint_token

SECRET = "s" * 64


def test_a_verified_token_is_remembered_until_it_expires() -> None:
    verifier = TokenVerifier(AuthConfig(jwt_secret=SECRET, leeway_seconds=0))
    tok = mint_token(SECRET, subject="u", role=Role.INSPECTOR, ttl=timedelta(seconds=2))
    first = verifier.verify(tok)
    assert verifier.verify(tok) is first  # not decoded again

    forged = tok[:-2] + ("AA" if not tok.endswith("AA") else "BB")
    with pytest.raises(AuthenticationError):  # another text is checked on its own
        verifier.verify(forged)

    time.sleep(2.1)  # past exp (whole seconds): checked again, refused
    with pytest.raises(AuthenticationError, match="expired"):
        verifier.verify(tok)
