"""``ansinh witness``: cosign the audit ledger's latest checkpoint, as a partner agency does.

The witness's code is :mod:`shared.ledger.witness`; this is its command line. Its key and
state stay on the partner's side (default ``<data-dir>/witness/``).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console

from deploy.local.launcher import jwt_secret
from deploy.local.status import platform_ports
from shared.auth import ALL_COMMUNES, Role, mint_token
from shared.events import SERVICES
from shared.ledger.signing import LedgerPublicKey, load_or_create_ledger_key
from shared.ledger.witness import Witness, WitnessRefusal, WitnessState, witness_once

console = Console()
errors = Console(stderr=True)


def witness_command(
    name: Annotated[
        str, typer.Option(help="The witness's key name (a schema-less URL naming the agency).")
    ] = "witness.ansinh.local/partner",
    key: Annotated[Path | None, typer.Option(help="Its Ed25519 key (created if absent).")] = None,
    state: Annotated[Path | None, typer.Option(help="The last checkpoint it cosigned.")] = None,
    log_key: Annotated[
        Path | None,
        typer.Option(help="The ledger's public key to pin (default: kept from the first run)."),
    ] = None,
    url: Annotated[str | None, typer.Option(help="The audit service's URL.")] = None,
    token: Annotated[
        str | None, typer.Option(envvar="ANSINH_TOKEN", help="A partner's bearer token.")
    ] = None,
    print_key: Annotated[
        bool, typer.Option(help="Print the verifier key for `ansinh verify --witness-key`.")
    ] = False,
    data_dir: Annotated[
        Path, typer.Option("--data-dir", envvar="ANSINH_DATA_DIR", file_okay=False)
    ] = Path(".data"),
) -> None:
    """Check the ledger's latest checkpoint extends the one cosigned before, then cosign it.

    Exit 0 cosigned, 1 refused (a fork or a rollback: nothing signed), 2 when the audit
    service cannot be reached or refuses.
    """
    home = data_dir / "witness"
    witness = Witness(name, load_or_create_ledger_key(key or home / "witness-ed25519.key"))
    if print_key:
        console.print(witness.verifier_key, highlight=False, soft_wrap=True)
        return
    state_path = state or home / "state.json"
    audit_url = url or f"http://127.0.0.1:{platform_ports(data_dir).get('audit', 8005)}"
    try:
        with httpx.Client(timeout=60.0) as client:
            pinned = _log_key(client, audit_url, log_key, state_path)
            done = witness_once(
                client, audit_url, token or _partner_token(data_dir), witness, pinned, state_path
            )
    except WitnessRefusal as refused:
        errors.print(f"[bold red]REFUSED[/bold red]: {refused}", highlight=False)
        raise typer.Exit(1) from refused
    except (httpx.HTTPError, OSError, ValueError) as failed:
        errors.print(f"[bold red]error:[/bold red] {failed}", highlight=False)
        raise typer.Exit(2) from failed
    grew = f" (consistent with tree size {done.grew_from})" if done.grew_from else ""
    console.print(
        f"[green]cosigned[/green] tree size {done.tree_size} root {done.root_hash.hex()}{grew} "
        f"as {name}",
        highlight=False,
    )


def _log_key(
    client: httpx.Client, url: str, pinned: Path | None, state_path: Path
) -> LedgerPublicKey:
    """The pinned key, else the one kept in the state, else the served one (first use)."""
    if pinned is not None:
        return LedgerPublicKey.from_text(pinned.read_text())
    kept = WitnessState.load(state_path)
    if kept is not None:
        return LedgerPublicKey.from_text(kept.log_key)
    response = client.get(f"{url}/ledger/public-key")
    response.raise_for_status()
    console.print("note: first run: trusting the served ledger key", highlight=False)
    return LedgerPublicKey.from_text(response.json()["pem"])


def _partner_token(data_dir: Path) -> str:
    secret = jwt_secret(data_dir, create=False)
    if secret is None:
        raise ValueError(f"no --token and no local signing secret under {data_dir}")
    return mint_token(
        secret,
        subject="witness",
        role=Role.PARTNER,
        services=SERVICES,
        communes=[ALL_COMMUNES],
        ttl=timedelta(minutes=10),
    )
