"""A witness cosigns the checkpoint, the ledger grows, it cosigns again after checking
consistency; verify reports and requires the trusted cosignatures; a forked checkpoint
(another root at the same size, signed with the ledger's key) is refused."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from deploy.local.verify import Trust, verify_ledger
from services.audit.app import create as create_audit
from shared.ledger.note import Checkpoint, SignedNote, sign_note
from shared.ledger.signing import KEY_FILE_NAME, LedgerKey, LedgerPublicKey
from shared.ledger.witness import Witness, WitnessRefusal, WitnessState, witness_once
from shared.localbroker import free_port
from tests.audit.browser.support import serving
from tests.audit.integration.fixtures import audit_settings, cloud_event, eventually, publish
from tests.audit.integration.test_ledger_tamper import topics  # noqa: F401 - fixture
from tests.support import bearer, token

pytestmark = pytest.mark.integration


def _event() -> object:
    household = str(uuid.uuid4())
    data = {"household_id": household, "commune_code": "30337"}
    return cloud_event("households", "household_registered", household, data)


async def test_a_witness_cosigns_grows_and_refuses_a_fork(
    topics: str,  # noqa: F811
    data_dir: Path,
    tmp_path: Path,
) -> None:
    settings = audit_settings(f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}", topics, data_dir)
    port = free_port()
    witness = Witness("witness.example/partner", LedgerKey(Ed25519PrivateKey.generate()))
    _, trusted = witness.verifier_key.split("+")[0], witness.key.public
    state = tmp_path / "witness-state.json"
    async with (
        serving(create_audit(settings), port) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):
        inspector, partner = token(data_dir, "inspector"), token(data_dir, "partner")
        key = LedgerPublicKey.from_text((await http.get("/ledger/public-key")).json()["pem"])

        async def grown_to(size: int) -> bool:
            answer = await http.get("/ledger/tree-heads/latest", headers=bearer(inspector))
            return answer.status_code == 200 and answer.json()["tree_size"] == size

        def cosign() -> object:
            with httpx.Client() as client:
                return witness_once(client, url, partner, witness, key, state)

        def verify(minimum: int) -> Trust:
            with httpx.Client() as client:
                return verify_ledger(  # type: ignore[return-value]
                    client,
                    url,
                    inspector,
                    data_dir,
                    None,
                    Trust(witnesses=[(witness.name, trusted)], min_witnesses=minimum),
                )

        await publish(topics, *[_event() for _ in range(3)])  # type: ignore[arg-type]
        await eventually(lambda: grown_to(3))
        first = await asyncio.to_thread(cosign)
        assert first.tree_size == 3 and first.grew_from is None  # type: ignore[attr-defined]
        note = SignedNote.parse(
            (await http.get("/ledger/checkpoint", headers=bearer(inspector))).text
        )
        assert [s.name for s in note.signatures] == [settings.ledger_origin, witness.name]

        await publish(topics, *[_event() for _ in range(2)])  # type: ignore[arg-type]
        await eventually(lambda: grown_to(5))
        second = await asyncio.to_thread(cosign)
        assert second.tree_size == 5 and second.grew_from == 3  # type: ignore[attr-defined]
        report = await asyncio.to_thread(verify, 1)
        assert report.ok, report.verdict.failures  # type: ignore[attr-defined]
        assert any(f"witness {witness.name} cosigned tree size 5" in h for h in report.held)  # type: ignore[attr-defined]
        required = await asyncio.to_thread(verify, 2)
        assert not required.ok  # type: ignore[attr-defined]

        # A fork: the ledger's key signs another root for the cosigned size 5.
        log_key = LedgerKey.from_pem((data_dir / "secrets" / KEY_FILE_NAME).read_bytes())
        forked = Checkpoint(settings.ledger_origin, 5, b"\x07" * 32).body()
        fork_note = SignedNote(forked, (sign_note(forked, settings.ledger_origin, log_key),))
        kept = WitnessState.load(state)
        with pytest.raises(WitnessRefusal, match="forked"):
            witness.check(fork_note, key, kept, [])
        smaller = Checkpoint(settings.ledger_origin, 4, b"\x07" * 32).body()
        rollback = SignedNote(smaller, (sign_note(smaller, settings.ledger_origin, log_key),))
        with pytest.raises(WitnessRefusal, match="rolled back"):
            witness.check(rollback, key, kept, [])
