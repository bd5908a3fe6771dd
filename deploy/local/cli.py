"""``ansinh``: run the platform locally, see how it is doing, mint tokens for its APIs."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, NoReturn

import httpx
import typer
from rich.console import Console
from rich.table import Table

from deploy.local.district import generate_app
from deploy.local.launcher import Platform, jwt_secret, read_state
from deploy.local.scenario import seed_command
from deploy.local.status import platform_ports, probe
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
        typer.Option(help="Households of the seeded district (30,000 takes hours on 2 cores)."),
    ] = 3_000,
) -> None:
    """Start the broker and the services in the foreground; Ctrl-C stops everything."""
    chosen = [s.strip() for s in services.split(",") if s.strip()] if services else None
    platform = Platform(
        data_dir,
        chosen,
        console=console,
        ready_timeout=ready_timeout,
        seed=not no_seed,
        seed_households=households,
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
    secret = jwt_secret(data_dir, create=False)
    if secret is None:
        _fail(
            f"no signing secret in {data_dir.resolve() / 'secrets'} yet: run `make run` "
            "(or `ansinh up`) once, then try again"
        )
    typer.echo(
        mint_token(
            secret,
            subject=subject or f"local-{role}",
            role=role,
            services=services,
            communes=communes,
            ttl=timedelta(hours=ttl_hours),
        )
    )


app.command("seed")(seed_command)
app.add_typer(generate_app, name="generate")


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
