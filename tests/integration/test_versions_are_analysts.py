"""Deployed versions are the analysts': a file that is already some version of its process deploys
nothing, a file never replaces a version an analyst deployed unless forced (``govflow deploy --force``),
``make run`` only seeds processes with no version (``--seed``); two analysts saving one draft never
overwrite each other silently; and who may start a process is its module's START_ROLES, else its
diagram's candidate starters, else administrators only."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from engine import cli, definitions
from engine.errors import PermissionDenied
from engine.models import DefinitionVersion
from engine.procedures import Procedure
from engine.uow import Actor
from engine.verbs import definitions as verbs
from engine.views import modeler as views
from engine.views.public import public_actor
from tests.conftest import FIXTURES, make_engine, review_loop_procedure

ANALYST = Actor("analyst", frozenset({"analyst"}))
OTHER_ANALYST = Actor("li.analyst", frozenset({"analyst"}))
CLERK = Actor("zhang", frozenset({"provider_clerk"}), "D1")
HEAD = Actor("wang", frozenset({"dept_head"}), "D1")
ADMIN = Actor("root", frozenset({"admin"}))
XML = (FIXTURES / "review_loop.bpmn").read_text(encoding="utf-8")
RENAMED = XML.replace("数长审批", "数长审核")  # an analyst's change
SHIPPED = XML.replace("结束", "办结")  # the next release's file
SIMPLE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_{id}" targetNamespace="http://govflow.example/bpmn">
  <bpmn:process id="{id}" name="{id}" isExecutable="true"{starters}>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="inspect" name="检查" camunda:candidateGroups="dept_head"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="inspect" />
    <bpmn:sequenceFlow id="f2" sourceRef="inspect" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""
# A process no procedure module knows, as an analyst draws it in the modeler: no candidate starters.
BARE = SIMPLE.format(id="bare", starters="")


def versions(engine, process_id: str = "review_loop") -> list[tuple[int, str]]:
    with engine.uow() as uow:
        return uow.session.execute(sa.select(DefinitionVersion.version, DefinitionVersion.deployed_by).where(
            DefinitionVersion.process_id == process_id).order_by(DefinitionVersion.version)).all()


# -- deploying files -----------------------------------------------------------------------------

def test_a_file_identical_to_any_version_deploys_nothing_and_says_which(engine):
    assert verbs.install(engine, SHIPPED).version == 2  # the installation's own change: deploys
    again = verbs.install(engine, XML)  # the file of version 1, deployed again (e.g. an older checkout)
    assert (again.created, again.outcome, again.equals, again.newest_version) == (False, "identical", 1, 2)
    assert "the file is version 1, the newest is version 2" in again.note()
    assert versions(engine) == [(1, "system:deploy"), (2, "system:deploy")]
    same = verbs.install(engine, SHIPPED)
    assert (same.outcome, same.equals) == ("identical", 2) and "unchanged: the file is version 2" in same.note()


def test_a_file_never_replaces_an_analysts_version_unless_forced(engine):
    verbs.deploy(engine, ANALYST, RENAMED)
    for file in (XML, SHIPPED):  # the file as first deployed, or changed by a release: the analyst's stays
        kept = verbs.install(engine, file)
        assert (kept.created, kept.newest_version, kept.newest_by) == (False, 2, "analyst")
        assert kept.kept_by_person
        assert ("kept version 2 deployed by analyst at 2026-03-02 09:00; use --force to deploy the file over it"
                in kept.note())
    assert versions(engine) == [(1, "system:deploy"), (2, "analyst")]
    assert engine.deploy(SHIPPED).created is False  # the fixtures' door keeps it too
    forced = verbs.install(engine, SHIPPED, force=True)
    assert (forced.created, forced.version) == (True, 3)
    assert verbs.install(engine, RENAMED).outcome == "identical"  # the analyst's content is version 2
    verbs.deploy(engine, ANALYST, RENAMED)  # an analyst may deploy an older version's content again
    assert versions(engine)[-1] == (4, "analyst")
    back = verbs.install(engine, XML, force=True)  # forced, a file identical to version 1 is the newest again
    assert (back.created, back.version) == (True, 5)
    assert verbs.install(engine, XML, force=True).created is False  # identical to the newest: nothing
    with engine.uow() as uow:
        assert definitions.latest(uow.session, "review_loop").xml == XML


def test_seeding_deploys_only_processes_without_a_version(engine):
    verbs.deploy(engine, ANALYST, RENAMED)
    present = verbs.install(engine, SHIPPED, seed=True)
    assert (present.created, present.outcome, present.newest_version) == (False, "present", 2)
    seeded = verbs.install(engine, BARE, seed=True)
    assert (seeded.created, seeded.process_id, seeded.version) == (True, "bare", 1)
    assert versions(engine) == [(1, "system:deploy"), (2, "analyst")]


def test_the_command_line_reports_per_file_and_goes_on(engine, monkeypatch, tmp_path):
    monkeypatch.setattr(cli, "build_engine", lambda config: engine)
    verbs.deploy(engine, ANALYST, RENAMED)
    folder = tmp_path / "bpmn"
    folder.mkdir()
    (folder / "a_broken.bpmn").write_text("<not-bpmn/>", encoding="utf-8")
    (folder / "bare.bpmn").write_text(BARE, encoding="utf-8")
    (folder / "review_loop.bpmn").write_text(SHIPPED, encoding="utf-8")

    def run(*args):
        return CliRunner().invoke(cli.main, ["deploy", *args], catch_exceptions=False)

    def said(result, file: str) -> str:
        """What the command said of ``file`` (both languages: ``中文 (English)``)."""
        return next(line for line in result.output.splitlines() if line.startswith(file) or f"/{file}:" in line)

    seeded = run("--seed", str(folder))
    assert seeded.exit_code == 1  # the malformed file, reported; the others deployed all the same
    assert "REFUSED" in said(seeded, "a_broken.bpmn")
    assert "bare deployed as version 1" in said(seeded, "bare.bpmn")
    assert "review_loop has version 2 already: not seeded" in said(seeded, "review_loop.bpmn")
    (folder / "a_broken.bpmn").unlink()
    kept = run(str(folder))
    assert kept.exit_code == 0, kept.output
    assert ("review_loop: kept version 2 deployed by analyst at 2026-03-02 09:00; use --force to deploy the file "
            "over it") in said(kept, "review_loop.bpmn")
    assert "bare unchanged: the file is version 1" in said(kept, "bare.bpmn")
    assert versions(engine) == [(1, "system:deploy"), (2, "analyst")]
    forced = run("--force", str(folder / "review_loop.bpmn"))
    assert forced.exit_code == 0 and "review_loop deployed as version 3" in said(forced, "review_loop.bpmn")
    assert versions(engine)[-1] == (3, "system:deploy")
    assert run("--force", "--seed", str(folder)).exit_code == 2


# -- drafts --------------------------------------------------------------------------------------

def test_the_second_save_of_one_draft_is_a_conflict_never_a_silent_overwrite(engine, clock):
    draft = verbs.save_draft(engine, ANALYST, None, XML, "审批")
    opened = views.diagram(engine, draft_id=draft.id)  # both analysts open it
    assert opened.revision == draft.revision
    mine = verbs.save_draft(engine, ANALYST, draft.id, RENAMED, "审批", opened.revision)  # same instant
    assert mine.revision > opened.revision
    with pytest.raises(verbs.DraftConflict) as refused:
        verbs.save_draft(engine, OTHER_ANALYST, draft.id, SHIPPED, "审批", opened.revision)
    assert (refused.value.saved_by, refused.value.revision) == ("analyst", mine.revision)
    assert "analyst saved this draft at 2026-03-02 09:00:00, after you opened it" in str(refused.value)
    assert "数长审核" in views.diagram(engine, draft_id=draft.id).xml
    with pytest.raises(verbs.DraftConflict):  # nor deployed over, discarding the other's save
        verbs.deploy(engine, OTHER_ANALYST, SHIPPED, draft.id, opened.revision)
    assert versions(engine) == [(1, "system:deploy")]
    verbs.save_draft(engine, OTHER_ANALYST, draft.id, SHIPPED, "审批", mine.revision)  # after reloading: fine
    verbs.delete_draft(engine, ANALYST, draft.id)
    with pytest.raises(verbs.DraftConflict) as gone:
        verbs.save_draft(engine, OTHER_ANALYST, draft.id, SHIPPED, "审批", mine.revision)
    assert gone.value.saved_by is None and "deployed or deleted after you opened it" in str(gone.value)


# -- who may start -------------------------------------------------------------------------------

@pytest.fixture
def county(db_url, clock):
    """review_loop without START_ROLES (its diagram names provider clerks), inspection with them,
    and a process no module knows."""
    eng = make_engine(db_url, clock, {"review_loop": review_loop_procedure(),
                                      "inspection": Procedure("inspection", start_roles=frozenset({"authority"}))})
    eng.deploy(XML)
    eng.deploy(SIMPLE.format(id="inspection", starters=' camunda:candidateStarterGroups="provider_clerk"'))
    eng.deploy(BARE)
    yield eng
    eng.db_engine.dispose()


def startable(engine, actor) -> list[str]:
    return [v.process_id for v in views.startable(engine, actor)]


def test_start_roles_else_the_diagrams_starters_else_administrators(county):
    authority = Actor("qian", frozenset({"authority"}))
    assert startable(county, CLERK) == ["review_loop"]  # the diagram's groups
    assert startable(county, authority) == ["inspection"]  # the module's START_ROLES win over its diagram's
    assert startable(county, ADMIN) == ["bare"]  # no module, no starters: administrators only
    assert startable(county, HEAD) == []
    with pytest.raises(PermissionDenied):
        county.start_case("review_loop", HEAD, {"department": "D1"})
    with pytest.raises(PermissionDenied):
        views.start_form(county, "bare", CLERK)
    assert views.start_form(county, "bare", ADMIN).definition.process_id == "bare"
    assert county.start_case("review_loop", CLERK, {"department": "D1"})


def test_the_newest_versions_starters_count(county):
    named = XML.replace('camunda:candidateStarterGroups="provider_clerk"',
                        'camunda:candidateStarterGroups=" dept_head , authority" camunda:candidateStarterUsers="zhang"')
    verbs.deploy(county, ANALYST, named)
    assert county.may_start("review_loop", HEAD) and county.may_start("review_loop", CLERK)  # a group; a login
    assert not county.may_start("review_loop", Actor("li", frozenset({"provider_clerk"}), "D1"))
    assert not county.may_start("review_loop", ADMIN)  # starters named: administrators are not among them
    verbs.deploy(county, ANALYST, XML.replace('camunda:candidateStarterGroups="provider_clerk"', ""))
    assert county.may_start("review_loop", ADMIN) and not county.may_start("review_loop", CLERK)


def test_starters_are_read_once_per_version(county, monkeypatch):
    assert county.may_start("review_loop", CLERK)
    monkeypatch.setattr(definitions, "starters_of", lambda xml: pytest.fail("read again"))
    assert county.may_start("review_loop", CLERK) and not county.may_start("review_loop", HEAD)
    with county.uow() as uow:
        newest = definitions.latest_id(uow.session, "review_loop")
        assert county.definitions.starters(uow.session, newest).groups == {"provider_clerk"}


def test_the_public_starts_nothing_from_a_diagram(county):
    public = public_actor("citizen")
    assert startable(county, public) == []
    open_to_all = XML.replace('camunda:candidateStarterGroups="provider_clerk"', 'camunda:candidateStarterGroups="public"')
    verbs.deploy(county, ANALYST, open_to_all)  # "public" is no role a person has: it admits no one
    assert not county.may_start("review_loop", public) and not county.may_start("review_loop", CLERK)
    with pytest.raises(PermissionDenied):
        county.start_case("review_loop", public, {"department": "D1"})


def test_the_modeler_refuses_an_unknown_starter_role(county):
    from engine import modeling
    problems = modeling.validate_diagram(county, XML.replace('candidateStarterGroups="provider_clerk"',
                                                             'candidateStarterGroups="provider_clerk,wizard"'))
    assert [(p.element_id, "'wizard'" in p.message) for p in problems] == [("review_loop", True)]
    assert modeling.validate_diagram(county, XML) == []
