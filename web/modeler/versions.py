"""A process's versions: who deployed each and when, running cases per version, the differences
between two versions, and moving running cases of older versions to the newest (one case per POST,
each its own audited transaction)."""
from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l

from engine import modeling
from engine.errors import GovflowError, NotFound
from engine.models import Case, DefinitionVersion

from ..context import actor, govflow
from ..errors import flash_refusal
from ..i18n import localise
from . import bp, display_names, running_counts

DIFF_FIELDS = {"@name": _l("name"), "type": _l("element type"), "@candidateGroups": _l("candidate groups"),
               "@candidateUsers": _l("candidate users"), "@assignee": _l("assignee"), "@default": _l("default flow"),
               "@sourceRef": _l("source"), "@targetRef": _l("target"), "@attachedToRef": _l("attached to"),
               "@cancelActivity": _l("interrupting"), "@formKey": _l("form key"),
               "extensionElements": _l("form fields and properties"),
               "conditionExpression": _l("condition"), "script": _l("script"),
               "timerEventDefinition": _l("timer"), "documentation": _l("documentation"),
               "multiInstanceLoopCharacteristics": _l("multiple instances")}


@bp.get("/<process_id>/versions")
def versions(process_id: str):
    """Every version with who and when, running cases per version, a comparison and the migration report."""
    engine = govflow()
    with engine.uow() as uow:
        rows = list(uow.session.scalars(sa.select(DefinitionVersion).where(
            DefinitionVersion.process_id == process_id).order_by(DefinitionVersion.version.desc())))
        if not rows:
            raise NotFound(f"没有已部署的流程 {process_id} (no deployed process)")
        running = running_counts(uow.session, process_id).get(process_id, {})
        names = display_names(uow.session, {r.deployed_by for r in rows})
    newest = rows[0]
    by_version = {r.version: r for r in rows}
    old, new = _pair(by_version, newest.version)
    diff = modeling.diff_versions(engine, by_version[old].id, by_version[new].id) if old and new else None
    checks = modeling.migration_report(engine, newest.id) if any(v < newest.version for v in running) else []
    return render_template("modeler/versions.html", process_id=process_id, rows=rows, newest=newest,
                           running=running, names=names, old=old, new=new, diff=diff, fields=DIFF_FIELDS,
                           checks=checks, titles=_titles([c.case_id for c in checks]),
                           reasons={c.case_id: [localise(r) for r in c.reasons] for c in checks})


def _pair(by_version: dict[int, DefinitionVersion], newest: int) -> tuple[int | None, int | None]:
    """The two versions to compare: as asked, else the newest and the one before it."""
    def number(name: str) -> int | None:
        value = request.args.get(name, "")
        return int(value) if value.isdigit() and int(value) in by_version else None
    old, new = number("old"), number("new")
    if old is None and new is None and newest > 1 and newest - 1 in by_version:
        return newest - 1, newest
    return (old, new) if old is not None and new is not None and old != new else (None, None)


def _titles(case_ids: list[int]) -> dict[int, str]:
    if not case_ids:
        return {}
    with govflow().uow() as uow:
        return dict(uow.session.execute(sa.select(Case.id, Case.title).where(Case.id.in_(case_ids))).all())


@bp.post("/<process_id>/cases/<int:case_id>/migrate")
def migrate(process_id: str, case_id: int):
    """Move one running case to the newest version, when the report says it can."""
    engine = govflow()
    with engine.uow() as uow:
        case = uow.session.get(Case, case_id)
        newest = uow.session.scalars(sa.select(DefinitionVersion).where(
            DefinitionVersion.process_id == process_id).order_by(DefinitionVersion.version.desc()).limit(1)).first()
        if case is None or newest is None or case.process_id != process_id:
            raise NotFound("案件不存在或不属于此流程 (no such case of this process)")
        number, target, version = case.number, newest.id, newest.version
    if request.form.get("target", "") != str(target):
        flash(_("A newer version was deployed meanwhile: check the report again before migrating."), "error")
        return redirect(url_for("modeler.versions", process_id=process_id, _anchor="migration"))
    try:
        modeling.migrate_case(engine, case_id, target, actor())
    except GovflowError as exc:
        flash_refusal(exc)
    else:
        flash(_("Case %(number)s now runs on version %(version)s.", number=number, version=version), "success")
    return redirect(url_for("modeler.versions", process_id=process_id, _anchor="migration"))
