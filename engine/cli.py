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
@click.option("--force", is_flag=True, help="deploy each file over a newer version an analyst deployed, and "
              "make a file identical to an older version the newest again")
@click.option("--seed", is_flag=True, help="deploy only processes that have no version at all (`make run`)")
@click.pass_obj
def deploy(config: Config, paths: tuple[Path, ...], by: str, force: bool, seed: bool) -> None:
    """Deploy BPMN files (or folders of them). A file that is already a version of its process
    deploys nothing; a file never replaces a newer version an analyst deployed unless --force (it is
    reported, and the other files go on). Exit status 1 when a file was malformed (the others are
    deployed all the same)."""
    from .verbs.definitions import install
    if force and seed:
        raise click.UsageError("--force and --seed exclude each other")
    engine = build_engine(config)
    failed = False
    for path in (paths or (config.bpmn_dir,)):
        for file in sorted(path.glob("*.bpmn")) if path.is_dir() else [path]:
            try:
                result = install(engine, file.read_bytes(), by, force=force, seed=seed)
            except (GovflowError, OSError, ValueError) as exc:  # a malformed or unreadable file
                failed = True
                click.echo(f"{file}: REFUSED: {exc}", err=True)
                continue
            click.echo(f"{file.name}: {result.note()}")
    sys.exit(1 if failed else 0)


@main.command()
@click.option("--once", is_flag=True, help="fire what is due now and exit")
@click.pass_obj
def worker(config: Config, once: bool) -> None:
    """Run the timer worker (fires due timers exactly once)."""
    from .config import MissingSecret
    from .worker import run_worker
    try:
        config.require_secret()  # the key the workers and web processes share
    except MissingSecret as exc:
        raise click.ClickException(str(exc)) from None
    run_worker(build_engine(config), once=once)


@main.command("seed-demo")
@click.pass_obj
def seed_demo(config: Config) -> None:
    """Load the demo departments, people and catalog (idempotent) and print the demo logins."""
    from .demo.organisation import DEMO_PASSWORD
    from .demo.seed import demo_logins, seed_demo as seed
    created = seed(build_engine(config))
    click.echo("demo data: " + ", ".join(f"{v} {k} created" for k, v in created.items()))
    click.echo(f"demo logins (password for all: {DEMO_PASSWORD}):")
    for login, what in demo_logins():
        click.echo(f"  {login:<16} {what}")
    click.echo("  <dept>.clerk / <dept>.head for every department (e.g. yibao.clerk, gaohe.head)")


@main.group("calendar")
def calendar_group() -> None:
    """The working-day calendar: status, overrides, publishing a year."""


@calendar_group.command("status")
@click.pass_obj
def calendar_status(config: Config) -> None:
    """Show published years and warn when next year's schedule is missing."""
    from datetime import datetime
    from .calendar import BEIJING
    from .views.admin import calendar_status as status
    engine = build_engine(config)
    info = status(engine, datetime.now(BEIJING).date())
    years = info.published_years
    click.echo(f"published years: {years[0]}–{years[-1]} ({len(years)} years)")
    click.echo(f"after-hours policy: {info.after_hours_policy}")
    if info.missing_year:
        click.echo(f"WARNING: {info.missing_year} 年节假日安排尚未发布 — deadlines reaching into it are "
                   "provisional (暂定); enter the State Council notice with `govflow calendar publish`.")


@calendar_group.command("override")
@click.argument("day", type=click.DateTime(["%Y-%m-%d"]))
@click.argument("kind", type=click.Choice(["working", "rest"]))
@click.option("--note", default="", help="why (e.g. the notice's document number)")
@click.option("--by", default="admin", help="who enters it (audited)")
@click.pass_obj
def calendar_override(config: Config, day, kind: str, note: str, by: str) -> None:
    """Make DAY a working day or a rest day; running deadlines that cross it move."""
    from .verbs.calendar import set_override
    moved = set_override(build_engine(config), _operator(by), day.date(), kind == "working", note)
    click.echo(f"{day.date()} is now a {kind} day; {moved} deadline(s) moved")


@calendar_group.command("publish")
@click.argument("year", type=int)
@click.option("--document", required=True, help="the State Council notice's document number")
@click.option("--holiday", "holidays", multiple=True, type=click.DateTime(["%Y-%m-%d"]), help="a rest day")
@click.option("--workday", "workdays", multiple=True, type=click.DateTime(["%Y-%m-%d"]),
              help="a weekend day that is worked (调休)")
@click.option("--by", default="admin")
@click.pass_obj
def calendar_publish(config: Config, year: int, document: str, holidays, workdays, by: str) -> None:
    """Publish YEAR from the State Council notice; provisional deadlines are recomputed."""
    from .verbs.calendar import publish_year
    moved = publish_year(build_engine(config), _operator(by), year, document, [d.date() for d in holidays],
                         [d.date() for d in workdays])
    click.echo(f"{year} published ({document}); {moved} deadline(s) recomputed")


@calendar_group.command("policy")
@click.argument("policy", type=click.Choice(["calendar_date", "next_working_day"]))
@click.option("--by", default="admin")
@click.pass_obj
def calendar_policy(config: Config, policy: str, by: str) -> None:
    """Set how submissions after hours or on a non-working day count."""
    from .verbs.calendar import set_after_hours_policy
    set_after_hours_policy(build_engine(config), _operator(by), policy)
    click.echo(f"after-hours policy: {policy}")


@main.group("rules")
def rules_group() -> None:
    """Rule sets (规则集): the period lengths in working days; list, show, add a version, activate.

    Only one rule set is active at a time: activating a version of another rule set deactivates the
    versions of the one in force. Running cases keep the version they started under."""


@rules_group.command("list")
@click.pass_obj
def rules_list(config: Config) -> None:
    """Every version: active or not, effective date, title, document; * marks the one in force today."""
    from . import rule_admin
    for v in rule_admin.versions(build_engine(config)):
        mark = "*" if v.in_force else " "
        state = "active  " if v.active else "inactive"
        click.echo(f"{mark} {v.key:<24} {state} from {v.effective_from}  {v.title}"
                   + (f"  [{v.document}]" if v.document and v.document != v.title else ""))


@rules_group.command("show")
@click.argument("key")
@click.pass_obj
def rules_show(config: Config, key: str) -> None:
    """One version (NAME@VERSION, or NAME for its newest) with every period length."""
    from . import rule_admin
    with _rule_errors():
        v = rule_admin.get(build_engine(config), key)
    click.echo(f"{v.key}{'  (in force today)' if v.in_force else ''}")
    click.echo(f"  active:         {'yes' if v.active else 'no'}")
    click.echo(f"  effective from: {v.effective_from}")
    click.echo(f"  title:          {v.title}")
    click.echo(f"  document:       {v.document}")
    click.echo(f"  added:          {v.created_at:%Y-%m-%d %H:%M} by {v.created_by}")
    for name, days in v.ordered_periods():
        click.echo(f"  {name:<28} {days}")


@rules_group.command("add")
@click.argument("name")
@click.option("--effective-from", "effective_from", required=True, type=click.DateTime(["%Y-%m-%d"]),
              help="the first day the values apply (YYYY-MM-DD)")
@click.option("--document", required=True, help="the document that sets these periods")
@click.option("--title", required=True, help="a title for the version")
@click.option("--set", "values", multiple=True, metavar="KEY=DAYS", help="a period's length in working days")
@click.option("--from", "source", default=None, metavar="NAME@V", help="start from a copy of this version")
@click.option("--activate", is_flag=True, help="also activate the new version")
@click.option("--by", default="admin", help="who adds it (audited)")
@click.pass_obj
def rules_add(config: Config, name: str, effective_from, document: str, title: str, values, source, activate: bool,
              by: str) -> None:
    """Add the next version of rule set NAME (inactive unless --activate)."""
    from .verbs import rule_sets
    periods = {}
    for item in values:
        key, sep, days = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{item!r}: write KEY=DAYS", param_hint="--set")
        try:
            periods[key.strip()] = int(days.strip())
        except ValueError:
            raise click.BadParameter(f"{item!r}: DAYS is a whole number", param_hint="--set") from None
    with _rule_errors():
        v = rule_sets.add(build_engine(config), _operator(by), name, effective_from=effective_from.date(), title=title,
                          document=document, periods=periods, source=source, activate=activate)
    click.echo(f"{v.key} added ({'active' if v.active else 'inactive'}), effective from {v.effective_from}"
               + ("; in force today" if v.in_force else ""))


@rules_group.command("activate")
@click.argument("key")
@click.option("--by", default="admin", help="who activates it (audited)")
@click.pass_obj
def rules_activate(config: Config, key: str, by: str) -> None:
    """Activate NAME@VERSION; the versions of any other rule set are deactivated."""
    from .verbs import rule_sets
    with _rule_errors():
        change = rule_sets.activate(build_engine(config), _operator(by), key)
    _echo_change(change)


@rules_group.command("deactivate")
@click.argument("key")
@click.option("--by", default="admin", help="who deactivates it (audited)")
@click.pass_obj
def rules_deactivate(config: Config, key: str, by: str) -> None:
    """Deactivate NAME@VERSION; refused when no rule set would be in force today."""
    from .verbs import rule_sets
    with _rule_errors():
        change = rule_sets.deactivate(build_engine(config), _operator(by), key)
    _echo_change(change)


def _echo_change(change) -> None:
    click.echo(f"{change.key} {change.action}d")
    if change.deactivates:
        click.echo(f"deactivated: {', '.join(change.deactivates)}")
    click.echo(f"in force today ({change.today}): {change.in_force_after} (was {change.in_force_before}); "
               "running cases keep their rule set")


class _rule_errors:
    """Print a refused rule-set operation (each field's problem on its own line) and exit 1."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type, exc, tb) -> None:
        from .errors import InvalidForm
        if exc is None or not isinstance(exc, GovflowError):
            return
        if isinstance(exc, InvalidForm):
            for key, message in exc.errors.items():
                click.echo(f"{key}: {message}", err=True)
            click.echo("REFUSED: nothing changed", err=True)
        else:
            click.echo(f"REFUSED: {exc}", err=True)
        sys.exit(1)


@main.group()
def audit() -> None:
    """The tamper-evident audit trail (art. 29)."""


@audit.command("verify")
@click.option("--checkpoint", "checkpoint_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="a checkpoint file kept outside the database (repeatable)")
@click.pass_obj
def audit_verify(config: Config, checkpoint_files: tuple[str, ...]) -> None:
    """Check the chain with the audit keys and the signed checkpoints; report the first altered,
    removed or inserted record."""
    import json
    points = []
    for path in checkpoint_files:
        with open(path, encoding="utf-8") as f:
            text = f.read().strip()
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                point = json.loads(line)
            except ValueError:
                point = None
            if not isinstance(point, dict):
                raise click.ClickException(f"{path}, line {number}: not a checkpoint (one JSON object per line, "
                                           "as `govflow audit checkpoint` writes)")
            points.append(point)
    finding = build_engine(config).verify_audit(points)
    if finding is None:
        click.echo(f"audit chain intact ({len(points)} checkpoint file entries checked)" if points
                   else "audit chain intact")
        return
    click.echo(f"AUDIT CHAIN BROKEN: {finding}", err=True)
    sys.exit(2)


@audit.command("checkpoint")
@click.option("--out", type=click.Path(dir_okay=False), help="append the checkpoint to this file (one JSON per line)")
@click.pass_obj
def audit_checkpoint(config: Config, out: str | None) -> None:
    """Sign the chain's head and seal (Ed25519); keep the printed line somewhere else as well."""
    import json
    point = build_engine(config).audit_checkpoint()
    line = json.dumps(point, sort_keys=True)
    if out:
        with open(out, "a", encoding="utf-8") as f:
            f.write(line + "\n")
    click.echo(line)


@main.group()
def retention() -> None:
    """How long the public's contact data are kept (engine.retention)."""


@retention.command("run")
@click.pass_obj
def retention_run(config: Config) -> None:
    """Anonymise the contact data of cases that ended more than the retention period ago, now."""
    from . import retention as rules
    click.echo(f"{rules.apply(build_engine(config))} record(s) anonymised")


@retention.command("set")
@click.argument("days", type=int)
@click.option("--by", default="admin", help="who sets it (audited)")
@click.pass_obj
def retention_set(config: Config, days: int, by: str) -> None:
    """Keep the public's contact data DAYS days after a case ended."""
    from . import retention as rules
    try:
        rules.set_retention_days(build_engine(config), _operator(by), days)
    except GovflowError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"contact data are kept {days} days after a case ended")


@main.command("backup")
@click.argument("out", type=click.Path(dir_okay=False))
@click.pass_obj
def backup_command(config: Config, out: str) -> None:
    """Write a consistent copy of the database to OUT (SQLite: online backup; PostgreSQL: pg_dump)."""
    from .backup import BackupError, backup
    try:
        path = backup(config.database_url, Path(out))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"backup of {_safe_url(config.database_url)} written to {path}")


@main.command("restore")
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="replace the database without asking")
@click.pass_obj
def restore_command(config: Config, source: str, yes: bool) -> None:
    """Replace the database with the backup SOURCE, then verify the audit chain (stop the web
    processes and workers first)."""
    from .backup import BackupError, restore
    if not yes:
        click.confirm(f"Replace {_safe_url(config.database_url)} with {source}?", abort=True)
    try:
        restore(config.database_url, Path(source))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    finding = build_engine(config).verify_audit()
    if finding is not None:
        click.echo(f"restored, but the AUDIT CHAIN IS BROKEN: {finding}", err=True)
        sys.exit(2)
    click.echo("restored; audit chain intact")


def _operator(by: str):
    """Who acts from the command line: whoever runs it operates the installation (it holds the
    database's credentials), an administrator by definition, recorded under ``--by``."""
    from .uow import Actor
    return Actor(by, frozenset({"admin"}))


def _safe_url(url: str) -> str:
    import sqlalchemy as sa
    return sa.engine.make_url(url).render_as_string(hide_password=True)


@main.group("catalog")
def catalog_group() -> None:
    """The data-resource catalog (arts. 7, 9, 15, 16, 24): Excel template, import, export, publish, diff."""


@catalog_group.command("template")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def catalog_template(file: Path) -> None:
    """Write an empty catalog workbook (header row, drop-downs, instructions)."""
    from .domain.catalog_excel import write_template
    write_template(file)
    click.echo(f"template written to {file}")


@catalog_group.command("export")
@click.argument("dept_code")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--draft", is_flag=True, help="export the open draft instead of the live catalog")
@click.pass_obj
def catalog_export(config: Config, dept_code: str, file: Path, draft: bool) -> None:
    """Export DEPT_CODE's live catalog (or its draft) to FILE.xlsx."""
    from .domain.catalog_excel import export_catalog
    with _catalog_errors(), build_engine(config).uow() as uow:
        count = export_catalog(uow.session, dept_code, file, draft=draft)
    click.echo(f"{count} resource(s) of {dept_code} written to {file}")


@catalog_group.command("import")
@click.argument("dept_code")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", default="admin", help="who imports (audited)")
@click.pass_obj
def catalog_import(config: Config, dept_code: str, file: Path, by: str) -> None:
    """Replace the resources of DEPT_CODE's draft with FILE.xlsx; nothing is imported on any error."""
    from .domain.catalog_excel import import_catalog
    engine = build_engine(config)
    with _catalog_errors(), engine.uow() as uow:
        result = import_catalog(uow, dept_code, file, by, engine.clock.now())
        uow.commit()
    click.echo(f"{result.count} resource(s) imported into draft {result.draft_id} of {dept_code}; "
               f"publish it with `govflow catalog publish {dept_code}`")


@catalog_group.command("publish")
@click.argument("dept_code")
@click.option("--by", default="admin", help="who publishes (audited)")
@click.option("--basis", default="", help="the change basis (art. 9)")
@click.pass_obj
def catalog_publish(config: Config, dept_code: str, by: str, basis: str) -> None:
    """Publish DEPT_CODE's draft as its new live catalog version."""
    from .domain import catalog
    engine = build_engine(config)
    with _catalog_errors(), engine.uow() as uow:
        draft = catalog.find_version(uow.session, dept_code, None)
        version = catalog.publish_draft(uow, draft.id, by, engine.clock.now(), basis=basis)
        uow.commit()
    click.echo(f"{dept_code}: version {version.number} published")


@catalog_group.command("diff")
@click.argument("dept_code")
@click.argument("v1")
@click.argument("v2")
@click.pass_obj
def catalog_diff(config: Config, dept_code: str, v1: str, v2: str) -> None:
    """Show what changed from version V1 to V2 (numbers, or `draft`)."""
    from .domain import catalog
    with _catalog_errors(), build_engine(config).uow() as uow:
        old, new = (catalog.find_version(uow.session, dept_code, _version_number(v)) for v in (v1, v2))
        diff = catalog.diff_versions(uow.session, old.id, new.id)
    for code, name in diff.added.items():
        click.echo(f"+ {code} {name}")
    for code, name in diff.removed.items():
        click.echo(f"- {code} {name}")
    for code, changes in diff.changed.items():
        click.echo(f"~ {code}")
        for change in changes:
            click.echo(f"    {change.field} ({change.title}): {change.old!r} -> {change.new!r}")
    if diff.empty:
        click.echo("no differences")


def _version_number(text: str) -> int | None:
    if text.lower() == "draft":
        return None
    if not text.isdigit():
        raise click.BadParameter(f"{text!r}: a version number or `draft`")
    return int(text)


class _catalog_errors:
    """Print a refused catalog operation (each row or field problem on its own line) and exit 1."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type, exc, tb) -> None:
        from .domain.catalog_excel import ImportRejected
        from .errors import InvalidForm
        if exc is None or not isinstance(exc, GovflowError):
            return
        if isinstance(exc, ImportRejected):
            for error in exc.errors:
                click.echo(str(error), err=True)
            click.echo(f"REFUSED: {len(exc.errors)} problem(s), nothing imported", err=True)
        elif isinstance(exc, InvalidForm):
            for message in exc.errors.values():
                click.echo(message, err=True)
            click.echo("REFUSED: nothing changed", err=True)
        else:
            click.echo(f"REFUSED: {exc}", err=True)
        sys.exit(1)
