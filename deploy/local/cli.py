"""``ansinh``: run the platform locally, see how it is doing, mint tokens for its APIs,
replay outboxes and verify the audit ledger."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, NoReturn

import httpx
import typer
from rich.console import Console
from rich.table import Table

from deploy.local.district.generator import generate_app
from deploy.local.launcher import Platform, jwt_secret, read_state
from deploy.local.replay import (
    PlatformNotRunning,
    ServiceReplay,
    admin_token,
    check_running,
    follow_backlogs,
    request_replays,
)
from deploy.local.scenario.seed import SeedOnStart, seed_command
from deploy.local.status import platform_ports, probe, supervision_lines
from deploy.local.verify import (
    AuditUnreachable,
    LedgerReport,
    inspector_token,
    verify_ledger,
    verify_trust,
)
from deploy.local.witness_command import witness_command
from shared.auth import ALL_COMMUNES, Role, mint_token
from shared.events import SERVICES

app = typer.Typer(help="An Sinh on this machine.", no_args_is_help=True, add_completion=False)
console = Console()
errors = Console(stderr=True)

DataDir = Annotated[
    Path,
    typer.Option(
        "--data-dir",
        envvar="ANSINH_DATA_DIR",
        file_okay=False,
        help="Databases, secrets and logs of the local platform.",
    ),
]


@app.command()
def up(
    data_dir: DataDir = Path(".data"),
    services: Annotated[
        str | None,
        typer.Option(help="Comma-separated services to start (default: every available one)."),
    ] = None,
    ready_timeout: Annotated[
        float, typer.Option(help="Seconds each start may take until every service is ready.")
    ] = 120.0,
    no_seed: Annotated[
        bool, typer.Option("--no-seed", help="Do not play the 2019 scenario once ready.")
    ] = False,
    households: Annotated[
        int,
        typer.Option(
            help="Households of the seeded district (3,000 seed in about a minute on 2 cores; "
            "the full 30,000-household district about ten times longer)."
        ),
    ] = 3_000,
) -> None:
    """Start the broker and the services in the foreground; Ctrl-C stops everything."""
    chosen = [s.strip() for s in services.split(",") if s.strip()] if services else None
    platform = Platform(
        data_dir,
        chosen,
        console=console,
        ready_timeout=ready_timeout,
        seed=None if no_seed else SeedOnStart(households),
    )
    raise typer.Exit(platform.run())


@app.command()
def status(data_dir: DataDir = Path(".data")) -> None:
    """Readiness, outbox backlog and consumer lag of each service; exit 1 unless all are ready."""
    state = read_state(data_dir)
    table = Table(
        title_justify="left",
        title=(
            f"An Sinh (launcher pid {state['pid']}, broker {state['broker']})"
            if state
            else f"An Sinh (no launcher running on {data_dir.resolve()})"
        ),
    )
    for column, justify in (
        ("service", "left"),
        ("URL", "left"),
        ("state", "left"),
        ("outbox backlog", "right"),
        ("consumer lag", "right"),
    ):
        table.add_column(column, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    all_ready = True
    with httpx.Client(timeout=3.0) as client:
        for name, port in platform_ports(data_dir).items():
            found = probe(client, name, port)
            all_ready &= found.ready
            colour = "green" if found.ready else "red"
            table.add_row(
                found.name,
                found.url,
                f"[{colour}]{found.state}[/{colour}]",
                _count(found.outbox_backlog),
                _count(found.consumer_lag),
            )
    console.print(table)
    for line in supervision_lines(data_dir):
        console.print(line, highlight=False, markup=False)
    raise typer.Exit(0 if all_ready else 1)


@app.command()
def token(
    role: Annotated[Role, typer.Option(help="What the bearer may do.")],
    service: Annotated[
        list[str] | None,
        typer.Option(
            "--service", help="A service the token covers (repeatable; operators need one)."
        ),
    ] = None,
    commune: Annotated[
        list[str] | None,
        typer.Option(
            "--commune",
            help=f"A commune code the token covers (repeatable; {ALL_COMMUNES!r} = all; "
            "operators need one).",
        ),
    ] = None,
    subject: Annotated[
        str | None, typer.Option(help="Who the token names (default local-<role>).")
    ] = None,
    ttl_hours: Annotated[float, typer.Option(min=0.01, help="Hours until it expires.")] = 8.0,
    data_dir: DataDir = Path(".data"),
) -> None:
    """Print a bearer token signed with the local platform's secret."""
    services = service or []
    communes = commune or []
    unknown = sorted(set(services) - set(SERVICES))
    if unknown:
        _fail(f"unknown service {', '.join(unknown)}; services are {', '.join(SERVICES)}")
    if role is Role.OPERATOR and not (services and communes):
        _fail("an operator token needs at least one --service and one --commune")
    typer.echo(
        mint_token(
            _local_secret(data_dir),
            subject=subject or f"local-{role}",
            role=role,
            services=services,
            communes=communes,
            ttl=timedelta(hours=ttl_hours),
        )
    )


@app.command()
def replay(
    service: Annotated[
        list[str] | None,
        typer.Option(
            "--service", help="A service to replay (repeatable; default: every running one)."
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            help="Only events recorded since then: ISO 8601, e.g. 2025-07-01T08:00+07:00 "
            "(no offset = local time). Default: the whole outbox."
        ),
    ] = None,
    timeout: Annotated[
        float, typer.Option(min=1, help="Seconds to wait for the backlogs to drain.")
    ] = 600.0,
    data_dir: DataDir = Path(".data"),
) -> None:
    """Publish each service's outbox again, so consumers that missed events catch up.

    For when the broker forgot events (the embedded one keeps nothing across restarts) or a
    partner's topic was reset. Consumers' inboxes drop events they already applied, so a
    replay never applies anything twice. Shows each outbox backlog until it drains; exit 1
    if one does not, 2 when the platform is not running.
    """
    ports = platform_ports(data_dir)
    chosen = service or list(ports)
    unknown = sorted(set(chosen) - set(SERVICES))
    if unknown:
        _fail(f"unknown service {', '.join(unknown)}; services are {', '.join(SERVICES)}")
    missing = [name for name in chosen if name not in ports]
    if missing:
        _fail(
            f"{', '.join(missing)} is not part of the platform on {data_dir.resolve()} "
            f"(it runs {', '.join(ports)})"
        )
    moment = _parse_since(since) if since is not None else None
    targets = {name: ports[name] for name in chosen}
    with httpx.Client(timeout=30.0) as client:
        try:
            check_running(client, targets)
        except PlatformNotRunning as down:
            _fail(
                f"the platform is not running on {data_dir.resolve()}: {down}; "
                "start it with `ansinh up` (or `make run`)"
            )
        secret = _local_secret(data_dir)
        replays = request_replays(client, targets, admin_token(secret), moment)
        what = f"since {moment.isoformat()}" if moment else "all events"
        console.print(f"Replaying the outbox ({what}) of {', '.join(targets)}…", highlight=False)
        follow_backlogs(client, replays, console, timeout)
    console.print(_replay_table(replays))
    failed = [r for r in replays if not r.drained]
    if failed:
        for replay in failed:
            reason = replay.error or (
                f"{replay.remaining} event(s) still waiting after {timeout:g} s; "
                "is the broker up? (`ansinh status`)"
            )
            errors.print(f"[bold red]✗[/bold red] {replay.name}: {reason}", highlight=False)
        raise typer.Exit(1)
    total = sum(r.queued for r in replays)
    console.print(
        f"[green]✓[/green] {total} event(s) published again; consumers' inboxes skip the "
        "ones they already applied.",
        highlight=False,
    )


@app.command()
def verify(
    subject: Annotated[
        str | None,
        typer.Option(help="Also export this subject's events and verify the bundle offline."),
    ] = None,
    full: Annotated[bool, typer.Option(help="Read every leaf again, not only new ones.")] = False,
    public_key: Annotated[
        Path | None, typer.Option(help="The ledger's public key (PEM or base64) to pin.")
    ] = None,
    url: Annotated[
        str | None, typer.Option(help="The audit service's URL (default: the local platform).")
    ] = None,
    token: Annotated[
        str | None, typer.Option(envvar="ANSINH_TOKEN", help="An inspector's bearer token.")
    ] = None,
    witness_key: Annotated[
        list[Path] | None, typer.Option(help="A trusted witness's verifier key file; repeatable.")
    ] = None,
    min_witnesses: Annotated[int, typer.Option(min=0, help="Trusted cosignatures required.")] = 0,
    data_dir: DataDir = Path(".data"),
) -> None:
    """Audit the running ledger in full: every leaf and root, only growth since the last run.

    Verifies the latest tree head's signature and a consistency proof from the head verified
    last time (kept in <data-dir>/verified-tree-head.json with the key and the verified
    prefix); reads every new leaf through the API, recomputes its hash from its stored bytes
    and the root of every signed head, naming the first bad leaf index; reports the
    witnesses that cosigned the head. Exit 0 when every check holds, 1 naming each failed
    check, 2 when the audit service is not running.
    """
    try:
        trust = verify_trust(public_key, witness_key or [], min_witnesses, full)
    except (OSError, ValueError) as unreadable:
        _fail(f"a key file cannot be read: {unreadable}")
    audit_url = url or _local_audit_url(data_dir)
    with httpx.Client(timeout=120.0) as client:
        try:
            if url is None:
                check_running(client, {"audit": int(audit_url.rsplit(":", 1)[1])})
            inspector = token or inspector_token(_local_secret(data_dir))
            report = verify_ledger(client, audit_url, inspector, data_dir, subject, trust)
        except (PlatformNotRunning, AuditUnreachable) as down:
            _fail(
                f"the audit service is not running at {audit_url}: {down}; "
                "start the platform with `ansinh up` (or `make run`)"
            )
    _print_report(report)
    raise typer.Exit(0 if report.ok else 1)


def _local_audit_url(data_dir: Path) -> str:
    audit_port = platform_ports(data_dir).get("audit")
    if audit_port is None:
        _fail(f"the platform on {data_dir.resolve()} runs no audit service")
    return f"http://127.0.0.1:{audit_port}"


app.command("seed")(seed_command)
app.command("witness")(witness_command)
app.add_typer(generate_app, name="generate")


def _parse_since(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        _fail(f"--since {text!r} is not an ISO 8601 date-time, e.g. 2025-07-01T08:00+07:00")
    return moment if moment.tzinfo is not None else moment.astimezone()  # local time


def _local_secret(data_dir: Path) -> str:
    secret = jwt_secret(data_dir, create=False)
    if secret is None:
        _fail(
            f"no signing secret in {data_dir.resolve() / 'secrets'} yet: run `make run` "
            "(or `ansinh up`) once, then try again"
        )
    return secret


def _replay_table(replays: list[ServiceReplay]) -> Table:
    table = Table(title="Outbox replay", title_justify="left")
    for column, justify in (
        ("service", "left"),
        ("queued again", "right"),
        ("still waiting", "right"),
        ("seconds", "right"),
        ("result", "left"),
    ):
        table.add_column(column, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for replay in replays:
        result = (
            "[green]published[/green]"
            if replay.drained
            else f"[red]{'error' if replay.error else 'not drained'}[/red]"
        )
        table.add_row(
            replay.name,
            str(replay.queued),
            _count(replay.remaining),
            f"{replay.seconds:.1f}",
            result,
        )
    return table


def _print_report(report: LedgerReport) -> None:
    for held in report.held:
        console.print(f"[green]✓[/green] {held}", highlight=False)
    for note in report.verdict.notes:
        console.print(f"note: {note}", highlight=False, markup=False)
    if report.ok:
        kept = (
            f"; tree size {report.saved.tree_size} kept in {report.state_path}"
            if report.saved
            else ""
        )
        console.print(f"[bold green]OK[/bold green]: the audit ledger holds{kept}", highlight=False)
        return
    failures = report.verdict.failures
    errors.print(
        f"[bold red]FAILED[/bold red]: {len(failures)} check(s) did not hold:", highlight=False
    )
    for failure in failures:
        errors.print(f"  - {failure}", highlight=False, markup=False, soft_wrap=True)
    errors.print(f"{report.state_path} was left as it was.", highlight=False, markup=False)


def _count(value: int | None) -> str:
    return "–" if value is None else str(value)


def _fail(message: str) -> NoReturn:
    errors.print(f"[bold red]error:[/bold red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def main() -> None:
    """Console-script entry point (``ansinh``)."""
    app()


if __name__ == "__main__":
    main()
