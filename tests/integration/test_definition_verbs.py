"""The analysts' verbs (engine.verbs.definitions) and the modeler's read models on every backend:
analysts only, a deployment and the discarding of its draft in one transaction, a migration checked
against the version the analyst saw."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine.errors import DefinitionError, NotFound, PermissionDenied
from engine.models import AuditRecord, Case, DefinitionVersion, HumanTask
from engine.uow import Actor
from engine.verbs import definitions as verbs
from engine.views import modeler as views
from tests.conftest import FIXTURES

ANALYST = Actor("analyst", frozenset({"analyst"}))
CLERK = Actor("zhang", frozenset({"provider_clerk"}), "D1")
XML = (FIXTURES / "review_loop.bpmn").read_text(encoding="utf-8")
RENAMED = XML.replace("数长审批", "数长审核")


def actions(engine) -> list[tuple[str, str]]:
    with engine.uow() as uow:
        return uow.session.execute(sa.select(AuditRecord.action, AuditRecord.actor).where(
            AuditRecord.action.like("definition_%")).order_by(AuditRecord.id)).all()


def test_only_analysts_change_diagrams(engine):
    draft = verbs.save_draft(engine, ANALYST, None, XML)
    before = actions(engine)
    for attempt in (lambda: verbs.save_draft(engine, CLERK, None, XML),
                    lambda: verbs.delete_draft(engine, CLERK, draft.id),
                    lambda: verbs.deploy(engine, CLERK, RENAMED, draft.id),
                    lambda: verbs.migrate_case(engine, CLERK, "review_loop", 1, 1)):
        with pytest.raises(PermissionDenied):
            attempt()
    assert actions(engine) == before
    assert [d.id for d in views.overview(engine).drafts] == [draft.id]


def test_a_deployed_draft_is_discarded_with_the_deployment(engine):
    draft = verbs.save_draft(engine, ANALYST, None, RENAMED, "改名")
    result = verbs.deploy(engine, ANALYST, views.diagram(engine, draft_id=draft.id).xml, draft.id)
    assert (result.process_id, result.version, result.created) == ("review_loop", 2, True)
    assert views.overview(engine).drafts == []
    assert actions(engine)[-3:] == [("definition_draft_saved", "analyst"), ("definition_deployed", "analyst"),
                                    ("definition_draft_deleted", "analyst")]
    again = verbs.save_draft(engine, ANALYST, None, RENAMED)
    same = verbs.deploy(engine, ANALYST, RENAMED, again.id)  # identical: no version, the draft goes all the same
    assert (same.definition_id, same.created) == (result.definition_id, False)
    assert views.overview(engine).drafts == []
    gone = verbs.deploy(engine, ANALYST, XML.replace("结束", "办结"), again.id)  # deleted meanwhile: deploys
    assert (gone.version, gone.created) == (3, True)
    assert views.diagram(engine, process_id="review_loop").version == 3


def test_a_diagram_the_engine_refuses_is_not_deployed_and_keeps_its_draft(engine):
    broken = XML.replace("outcome = record_approval(summary)", "outcome = open('/etc/passwd').read()")
    draft = verbs.save_draft(engine, ANALYST, None, broken)
    with pytest.raises(DefinitionError):
        verbs.deploy(engine, ANALYST, broken, draft.id)
    assert [d.id for d in views.overview(engine).drafts] == [draft.id]
    with engine.uow() as uow:
        assert uow.session.scalar(sa.select(sa.func.count()).select_from(DefinitionVersion)) == 1


def test_a_migration_is_checked_against_the_version_the_analyst_saw(engine):
    case_id = engine.start_case("review_loop", CLERK, {"department": "D1"})
    with engine.uow() as uow:
        task_id = uow.session.scalars(sa.select(HumanTask.id).where(HumanTask.case_id == case_id)).one()
    engine.complete_task(task_id, CLERK, {"summary": "material"})
    seen = verbs.deploy(engine, ANALYST, RENAMED)
    page = views.versions(engine, "review_loop")
    assert [c.case_id for c in page.checks] == [case_id] and page.titles.keys() == {case_id}
    assert (page.old, page.new, page.newest.id) == (1, 2, seen.definition_id)
    newer = verbs.deploy(engine, ANALYST, RENAMED.replace("结束", "办结"))
    with pytest.raises(verbs.NewerVersionDeployed):
        verbs.migrate_case(engine, ANALYST, "review_loop", case_id, seen.definition_id)
    with pytest.raises(NotFound):
        verbs.migrate_case(engine, ANALYST, "other_process", case_id, newer.definition_id)
    moved = verbs.migrate_case(engine, ANALYST, "review_loop", case_id, newer.definition_id)
    assert moved.version == 3
    with engine.uow() as uow:
        assert uow.session.get(Case, case_id).definition_id == newer.definition_id
    assert views.versions(engine, "review_loop").checks == []
