"""The ``govflow`` command line: database, deployment, worker, audit."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from .bootstrap import build_engine
from .config import Config
from .errors import GovflowError


@click.group()
@click.pass_context
def main(ctx: click.Context) -> None:
    """govflow: workflow engine for the Huaining government-data regulation."""
    ctx.obj = Config.from_env()


@main.command("init-db")
@click.pass_obj
def init_db(config: Config) -> None:
    """Create or upgrade the database schema (Alembic upgrade head)."""
    from .db import create_db_engine
    from .migrate import upgrade
    upgrade(create_db_engine(config.database_url))
    click.echo(f"database at head: {_safe_url(config.database_url)}")


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--by", default="system:deploy", help="who deploys (recorded in the audit trail)")
@click.pass_obj
def deploy(config: Config, paths: tuple[Path, ...], by: str) -> None:
    """Deploy BPMN files (or folders of them); unchanged content is a no-op."""
    engine = build_engine(config)
    failed = False
    for path in (paths or (config.bpmn_dir,)):
        for file in sorted(path.glob("*.bpmn")) if path.is_dir() else [path]:
            try:
                result = engine.deploy(file.read_bytes(), by)
            except GovflowError as exc:
                failed = True
                click.echo(f"{file}: REFUSED: {exc}", err=True)
                continue
            state = "deployed as" if result.created else "unchanged,"
            click.echo(f"{file.name}: {result.process_id} {state} version {result.version}")
    sys.exit(1 if failed else 0)


@main.command()
@click.option("--once", is_flag=True, help="fire what is due now and exit")
@click.pass_obj
def worker(config: Config, once: bool) -> None:
    """Run the timer worker (fires due timers exactly once)."""
    from .worker import run_worker
    run_worker(build_engine(config), once=once)


@main.group()
def audit() -> None:
    """The tamper-evident audit trail (art. 29)."""


@audit.command("verify")
@click.pass_obj
def audit_verify(config: Config) -> None:
    """Check the hash chain; report the first altered, removed or inserted record."""
    finding = build_engine(config).verify_audit()
    if finding is None:
        click.echo("audit chain intact")
        return
    click.echo(f"AUDIT CHAIN BROKEN: {finding}", err=True)
    sys.exit(2)


def _safe_url(url: str) -> str:
    import sqlalchemy as sa
    return sa.engine.make_url(url).render_as_string(hide_password=True)
