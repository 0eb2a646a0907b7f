"""Diagram drafts on every backend: only safe, well-formed BPMN is kept, saves overwrite, every change
is audited, and the migration matches the model."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from engine.domain import drafts
from engine.errors import NotFound
from engine.models import AuditRecord, Base
from engine.spiff.parser import MAX_XML_BYTES
from tests.conftest import FIXTURES, make_engine

XML = (FIXTURES / "review_loop.bpmn").read_text(encoding="utf-8")


@pytest.fixture
def eng(db_url, clock):
    engine = make_engine(db_url, clock)
    yield engine
    engine.db_engine.dispose()


@pytest.mark.parametrize("raw, kind", [
    (b"", "empty"),
    (b"   \n", "empty"),
    (b"<a>" + b"x" * MAX_XML_BYTES + b"</a>", "too_large"),
    (b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>', "dtd"),
    ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x><x/>'.encode("utf-16"), "dtd"),
    (b"not xml at all", "not_xml"),
    (b"<x><y></x>", "not_xml"),
    (b'<?xml version="1.0" encoding="ISO-8859-1"?><bpmn:definitions '
     b'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="\xe9"/>', "encoding"),
    (b"<definitions/>", "not_bpmn"),
])
def test_files_that_are_not_safe_bpmn_are_rejected_with_a_kind(raw, kind):
    with pytest.raises(drafts.DiagramRejected) as caught:
        drafts.read_diagram(raw)
    assert caught.value.kind == kind and " (" in str(caught.value)  # 中文 (English)


def test_a_diagram_declares_its_process():
    head = drafts.read_diagram(XML)
    assert (head.process_id, head.name, head.xml) == ("review_loop", "测试：提交与审批", XML)
    bare = drafts.read_diagram(b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"/>')
    assert (bare.process_id, bare.name) == ("", "")


def test_drafts_are_saved_overwritten_listed_and_deleted_with_audit(eng, clock):
    with eng.uow() as uow:
        first = drafts.save_draft(uow, None, XML, "", "analyst", clock.now())
        second = drafts.save_draft(uow, None, XML, "  另一 份  ", "analyst", clock.now())
        first_id, second_id = first.id, second.id
        uow.commit()
    with eng.uow() as uow:
        drafts.save_draft(uow, first_id, XML.replace("数长审批", "数长审核"), "改名", "li", clock.now())
        uow.commit()
    with eng.uow() as uow:
        found = [(d.id, d.name, d.saved_by) for d in drafts.list_drafts(uow.session)]
        # saved over last, so listed first: a save moves the draft's revision forward even within one
        # tick of the (frozen) clock
        assert found == [(first_id, "改名", "li"), (second_id, "另一 份", "analyst")]
        assert "数长审核" in drafts.get_draft(uow.session, first_id).xml
    with eng.uow() as uow:
        assert drafts.delete_draft(uow, first_id, "li", clock.now()) == "改名"
        uow.commit()
    with eng.uow() as uow:
        with pytest.raises(NotFound):
            drafts.get_draft(uow.session, first_id)
        actions = uow.session.execute(sa.select(AuditRecord.action, AuditRecord.actor).where(
            AuditRecord.action.like("definition_draft_%")).order_by(AuditRecord.id)).all()
    assert actions == [("definition_draft_saved", "analyst"), ("definition_draft_saved", "analyst"),
                       ("definition_draft_saved", "li"), ("definition_draft_deleted", "li")]


def test_the_first_name_of_a_draft_comes_from_its_process(eng, clock):
    with eng.uow() as uow:
        assert drafts.save_draft(uow, None, XML, " ", "analyst", clock.now()).name == "测试：提交与审批"


def test_the_migration_matches_the_model(db_url):
    only_mine = {"include_object": lambda obj, name, kind, reflected, other:
                 (name if kind == "table" else getattr(getattr(obj, "table", None), "name", None))
                 == "definition_draft"}
    db = sa.create_engine(db_url)
    with db.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn, opts=only_mine), Base.metadata) == []
    db.dispose()
