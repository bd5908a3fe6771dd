"""The offline verifier accepts an honest export bundle and names each kind of tampering."""

from __future__ import annotations

import base64
import copy
import json
import math
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.ledger import merkle
from shared.ledger.evidence import ExportedLeaf, build_bundle, sign_tree_head
from shared.ledger.leaf import canonical_event_bytes
from shared.ledger.signing import LedgerKey, LedgerPublicKey, load_or_create_ledger_key
from shared.ledger.verifier import main, verify_bundle
from tests.shared.unit.test_ledger_merkle import appended
from tests.support import REPO_ROOT

HOUSEHOLD = "5b0e6f2c-55d4-4f0e-9a53-0d1c2b7e8a01"
SUBJECT_LEAVES = (1, 4, 6, 9)


def event_bytes(index: int) -> bytes:
    about_household = index in SUBJECT_LEAVES
    return canonical_event_bytes(
        {
            "id": f"00000000-0000-4000-8000-{index:012d}",
            "source": "/ansinh/households",
            "type": "vn.ansinh.households.person_added.v1",
            "subject": HOUSEHOLD if about_household else f"other-{index}",
            "time": f"2019-03-01T08:00:{index:02d}.000000Z",
            "dataschema": None,
        },
        {"household_id": HOUSEHOLD if about_household else "x", "commune_code": "30337"},
    )


@pytest.fixture(scope="module")
def key() -> LedgerKey:
    return LedgerKey(Ed25519PrivateKey.generate())


@pytest.fixture(scope="module")
def honest_bundle(key: LedgerKey) -> dict[str, Any]:
    """A subject's 4 events out of a 13-leaf ledger, with a consistency proof from size 7."""
    leaves = [event_bytes(i) for i in range(13)]
    nodes = appended(leaves)
    head = sign_tree_head(key, 13, merkle.tree_root(13, nodes), 1_551_427_200_000)
    earlier = sign_tree_head(key, 7, merkle.tree_root(7, nodes), 1_551_427_100_000)
    exported = [
        ExportedLeaf(i, leaves[i], merkle.inclusion_proof(i, 13, nodes)) for i in SUBJECT_LEAVES
    ]
    return build_bundle(
        key=key,
        subject=HOUSEHOLD,
        communes=None,
        tree_head=head,
        leaves=exported,
        exported_at=datetime(2019, 3, 2, tzinfo=UTC),
        earlier_tree_head=earlier,
        consistency_proof=merkle.consistency_proof(7, 13, nodes),
    )


@pytest.fixture
def bundle(honest_bundle: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(honest_bundle)


def failures(bundle: dict[str, Any], key: LedgerPublicKey | None = None) -> str:
    verdict = verify_bundle(bundle, key)
    assert not verdict.ok, "tampering went unnoticed"
    return "\n".join(verdict.failures)


def flip_base64_byte(value: str, position: int = 10) -> str:
    raw = bytearray(base64.b64decode(value))
    raw[position] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def flip_hex_byte(value: str) -> str:
    raw = bytearray(bytes.fromhex(value))
    raw[0] ^= 0x01
    return raw.hex()


def test_an_honest_bundle_verifies(bundle: dict[str, Any], key: LedgerKey) -> None:
    verdict = verify_bundle(bundle, key.public)
    assert verdict.ok, verdict.failures
    assert verdict.verified_events == len(SUBJECT_LEAVES)
    assert verdict.notes == []


def test_without_a_pinned_key_the_verdict_says_whose_key_it_trusted(
    bundle: dict[str, Any], key: LedgerKey
) -> None:
    verdict = verify_bundle(bundle)
    assert verdict.ok
    assert key.public.key_id in verdict.notes[0]


def test_one_altered_byte_of_an_event_is_named(bundle: dict[str, Any]) -> None:
    bundle["events"][2]["event_bytes"] = flip_base64_byte(bundle["events"][2]["event_bytes"])
    found = failures(bundle)
    assert "event #3 (leaf 6" in found
    assert "the event was altered" in found
    assert "inclusion proof does not lead to the signed root" in found


def test_an_altered_proof_is_named(bundle: dict[str, Any]) -> None:
    proof = bundle["events"][0]["inclusion_proof"]
    proof[1] = flip_hex_byte(proof[1])
    found = failures(bundle)
    assert found.startswith("event #1 (leaf 1")
    assert "inclusion proof" in found


@pytest.mark.parametrize(
    ("field", "change"),
    [
        ("root_hash", flip_hex_byte),
        ("tree_size", lambda size: size + 1),
        ("timestamp_ms", lambda ms: ms + 1),
        ("signature", flip_base64_byte),
    ],
)
def test_an_altered_tree_head_is_named(bundle: dict[str, Any], field: str, change: Any) -> None:
    bundle["tree_head"][field] = change(bundle["tree_head"][field])
    assert "tree head (tree size" in failures(bundle)


def test_a_removed_event_is_named(bundle: dict[str, Any]) -> None:
    del bundle["events"][1]
    found = failures(bundle)
    assert "holds 3 event(s) but the signed manifest lists 4: an event was removed" in found


def test_an_event_removed_from_events_and_manifest_breaks_the_manifest_signature(
    bundle: dict[str, Any],
) -> None:
    del bundle["events"][1]
    del bundle["manifest"]["leaves"][1]
    assert "manifest signature does not verify" in failures(bundle)


def test_reordered_events_are_named(bundle: dict[str, Any]) -> None:
    events = bundle["events"]
    events[1], events[2] = events[2], events[1]
    found = failures(bundle)
    assert "out of ledger order" in found
    assert "reordered" in found


def test_a_replaced_leaf_index_is_named(bundle: dict[str, Any]) -> None:
    bundle["events"][0]["leaf_index"] = 0
    found = failures(bundle)
    assert "the manifest lists leaf 1 at this position" in found


def test_an_altered_consistency_proof_is_named(bundle: dict[str, Any]) -> None:
    bundle["consistency_proof"][0] = flip_hex_byte(bundle["consistency_proof"][0])
    assert "consistency from tree size 7 to 13 does not hold" in failures(bundle)


def test_an_altered_earlier_tree_head_is_named(bundle: dict[str, Any]) -> None:
    bundle["earlier_tree_head"]["root_hash"] = flip_hex_byte(
        bundle["earlier_tree_head"]["root_hash"]
    )
    found = failures(bundle)
    assert "earlier tree head (tree size 7" in found
    assert "consistency from tree size 7 to 13 does not hold" in found


def test_a_bundle_re_signed_with_another_key_fails_against_the_pinned_key(
    bundle: dict[str, Any], key: LedgerKey
) -> None:
    forger = LedgerKey(Ed25519PrivateKey.generate())
    bundle["public_key"]["pem"] = forger.public.pem
    assert "is not the pinned key" in failures(bundle, key.public)


def test_canonical_bytes_do_not_depend_on_key_order_and_refuse_nan() -> None:
    attributes = {"id": "1", "source": "s", "type": "t", "subject": "x", "time": "z"}
    one = canonical_event_bytes(attributes, {"b": 1, "a": "Ấp Hòa Thuận"})
    two = canonical_event_bytes(dict(reversed(attributes.items())), {"a": "Ấp Hòa Thuận", "b": 1})
    assert one == two
    assert one.startswith(b'{"data":{"a":"\xe1\xba\xa4p')  # UTF-8, not \u escapes
    assert b" " not in one.replace("Ấp Hòa Thuận".encode(), b"")
    assert json.loads(one)["dataschema"] is None and json.loads(one)["specversion"] == "1.0"
    with pytest.raises(ValueError):
        canonical_event_bytes(attributes, {"share": math.nan})


def test_the_key_file_is_created_once_and_private(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "audit-ed25519.key"
    first = load_or_create_ledger_key(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_or_create_ledger_key(path).public.raw == first.public.raw


def write_bundle(tmp_path: Path, bundle: dict[str, Any]) -> Path:
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    return path


def test_the_command_exits_zero_when_it_holds_and_one_naming_the_failure(
    tmp_path: Path, bundle: dict[str, Any], key: LedgerKey, capsys: pytest.CaptureFixture[str]
) -> None:
    key_file = tmp_path / "ledger.pem"
    key_file.write_text(key.public.pem)
    assert main([str(write_bundle(tmp_path, bundle)), "--public-key", str(key_file)]) == 0
    assert "OK: 4 event(s)" in capsys.readouterr().out

    bundle["events"][3]["event_bytes"] = flip_base64_byte(bundle["events"][3]["event_bytes"])
    assert main([str(write_bundle(tmp_path, bundle)), "--public-key", str(key_file)]) == 1
    err = capsys.readouterr().err
    assert "FAILED" in err and "event #4 (leaf 9" in err

    (tmp_path / "broken.json").write_text("{not json")
    assert main([str(tmp_path / "broken.json")]) == 2


def test_the_verifier_runs_as_a_module(tmp_path: Path, bundle: dict[str, Any]) -> None:
    bundle["tree_head"]["tree_size"] += 1
    result = subprocess.run(
        [sys.executable, "-m", "shared.ledger.verifier", str(write_bundle(tmp_path, bundle))],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "signature does not verify" in result.stderr
