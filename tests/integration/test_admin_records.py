"""The engine's side of administration, the public's rate limit and evidence files, on SQLite and
PostgreSQL: validated, audited, and what the migration creates matches the models."""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from engine.verbs import attachments as files
from engine.domain import org, throttle
from engine.domain.attachments import Attachment
from engine.errors import InvalidForm, NotFound, PermissionDenied
from engine.models import AuditRecord, Base, HumanTask
from engine.uow import Actor

CLERK = Actor("zhang", frozenset({"provider_clerk"}), "D1")
OTHER = Actor("zhao", frozenset({"provider_clerk"}), "D2")
PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture
def departments(engine, clock):
    with engine.uow() as uow:
        org.add_department(uow, "D1", "部门一", "county_department", "admin", clock.now())
        org.add_department(uow, "D2", "部门二", "township", "admin", clock.now())
        org.add_person(uow, "zhang", "张三", "D1", {"provider_clerk"}, "pass-word-1", "admin", clock.now())
        org.add_person(uow, "zhao", "赵四", "D2", {"provider_clerk"}, "pass-word-1", "admin", clock.now())
        uow.commit()


def audit(engine, prefix: str) -> list[tuple[str, str, dict]]:
    with engine.uow() as uow:
        return [(r.action, r.actor, json.loads(r.summary)) for r in uow.session.scalars(
            sa.select(AuditRecord).where(AuditRecord.action.like(f"{prefix}%")).order_by(AuditRecord.id))]


def test_people_and_departments_are_validated_and_audited(engine, departments, clock):
    assert [a for a, _, _ in audit(engine, "department_")] == ["department_created"] * 2
    with engine.uow() as uow:
        released = org.update_person(uow, "zhang", "张三丰", "D2", {"provider_clerk", "dept_head"}, True, "admin",
                                     clock.now())
        org.update_department(uow, "D2", "部门二（新）", "county_department", "zhang", "admin", clock.now())
        org.reset_password(uow, "zhao", "another-orchard-83", "admin", clock.now())
        uow.commit()
    assert released == 0
    with engine.uow() as uow:
        zhang = org.person_by_login(uow.session, "zhang")
        assert (zhang.display_name, zhang.department.code, zhang.roles) == ("张三丰", "D2", {"provider_clerk", "dept_head"})
        assert org.department_by_code(uow.session, "D2").head_id == zhang.id
        assert org.authenticate(uow.session, "zhao", "another-orchard-83") is not None
    [(_, by, summary)] = audit(engine, "person_updated")
    assert by == "admin" and summary["changes"] == {"display_name": ["张三", "张三丰"], "department": ["D1", "D2"],
                                                    "roles": [["provider_clerk"], ["dept_head", "provider_clerk"]]}
    [(_, _, dept)] = audit(engine, "department_updated")
    assert dept["changes"] == {"name": ["部门二", "部门二（新）"], "kind": ["township", "county_department"],
                               "head": "zhang"}
    assert audit(engine, "password_reset") == [("password_reset", "admin", {"login": "zhao"})]
    assert engine.verify_audit() is None


def test_bad_changes_are_refused_whole(engine, departments, clock):
    with engine.uow() as uow:
        with pytest.raises(InvalidForm) as exc:
            org.add_person(uow, "X", "", "D9", {"wizard"}, "short", "admin", clock.now())
        assert set(exc.value.errors) == {"login", "display_name", "department", "roles", "password"}
        with pytest.raises(InvalidForm) as exc:
            org.add_department(uow, "D1", "部门二", "planet", "admin", clock.now())
        assert set(exc.value.errors) == {"code", "name", "kind"}
        with pytest.raises(InvalidForm) as exc:
            org.update_department(uow, "D1", "部门一", "county_department", "zhao", "admin", clock.now())
        assert set(exc.value.errors) == {"head"}
        with pytest.raises(NotFound):
            org.update_person(uow, "nobody", "x", "D1", set(), True, "admin", clock.now())
        with pytest.raises(InvalidForm):
            org.reset_password(uow, "zhang", "short", "admin", clock.now())
    assert audit(engine, "person_") == [(a, b, c) for a, b, c in audit(engine, "person_") if a == "person_created"]


def test_deactivation_releases_claimed_tasks_offered_to_a_role(engine, departments, clock):
    case_id = engine.start_case("review_loop", CLERK, {"department": "D1"})
    with engine.uow() as uow:
        task_id = uow.session.scalar(sa.select(HumanTask.id).where(HumanTask.case_id == case_id))
    engine.claim(task_id, CLERK)
    with engine.uow() as uow:
        assert org.update_person(uow, "zhang", "张三", "D1", {"provider_clerk"}, False, "admin", clock.now()) == 1
        uow.commit()
    with engine.uow() as uow:
        assert uow.session.get(HumanTask, task_id).assignee is None
    [(_, _, summary)] = audit(engine, "task_unclaimed")
    assert summary == {"from": "zhang", "reason": "person_updated"}


def test_the_rate_limit_counts_per_kind_and_address_in_a_window(engine, clock):
    limit = throttle.LIMITS["lookup"]
    for _ in range(limit.requests):
        with engine.uow() as uow:
            throttle.hit(uow.session, "lookup", "1.2.3.4", clock.now())
            uow.commit()
    with engine.uow() as uow:
        with pytest.raises(throttle.TooManyRequests) as exc:
            throttle.hit(uow.session, "lookup", "1.2.3.4", clock.now())
        assert exc.value.retry_after == limit.window
        throttle.hit(uow.session, "lookup", "5.6.7.8", clock.now())
        throttle.hit(uow.session, "objection", "1.2.3.4", clock.now())
        uow.commit()
    clock.advance(seconds=limit.window.total_seconds() + 1)
    with engine.uow() as uow:
        throttle.hit(uow.session, "lookup", "1.2.3.4", clock.now())
        uow.commit()
    clock.advance(days=2)
    with engine.uow() as uow:
        throttle.hit(uow.session, "lookup", "1.2.3.4", clock.now())  # prunes what is a day old
        uow.commit()
        assert uow.session.scalar(sa.select(sa.func.count()).select_from(throttle.PublicRequest)) == 1


def test_evidence_files_follow_task_and_case_permissions(engine, departments, tmp_path):
    tmp_path = tmp_path / "files"
    case_id = engine.start_case("review_loop", CLERK, {"department": "D1"})
    with engine.uow() as uow:
        task_id = uow.session.scalar(sa.select(HumanTask.id).where(HumanTask.case_id == case_id))
    with pytest.raises(PermissionDenied):
        files.attach_to_task(engine, OTHER, task_id, "a.pdf", PDF, tmp_path)
    with pytest.raises(NotFound):
        files.attach_to_task(engine, CLERK, "no-such-task", "a.pdf", PDF, tmp_path)
    assert not tmp_path.exists()
    attachment_id = files.attach_to_task(engine, CLERK, task_id, "a.pdf", PDF, tmp_path)
    found, path = files.open_attachment(engine, CLERK, attachment_id, tmp_path)
    assert path.read_bytes() == PDF and found.original_name == "a.pdf"
    assert [a.id for a in files.case_attachments(engine, CLERK, case_id)] == [attachment_id]
    with pytest.raises(PermissionDenied):
        files.open_attachment(engine, OTHER, attachment_id, tmp_path)
    with pytest.raises(PermissionDenied):
        files.case_attachments(engine, OTHER, case_id)
    path.unlink()
    with pytest.raises(NotFound, match="missing"):
        files.open_attachment(engine, CLERK, attachment_id, tmp_path)
    assert [a for a, _, _ in audit(engine, "attachment_")] == ["attachment_added"]


def test_a_failed_commit_leaves_no_stored_file(engine, departments, tmp_path, monkeypatch):
    tmp_path = tmp_path / "files"
    case_id = engine.start_case("review_loop", CLERK, {"department": "D1"})
    with engine.uow() as uow:
        task_id = uow.session.scalar(sa.select(HumanTask.id).where(HumanTask.case_id == case_id))

    def broken(self):
        raise sa.exc.OperationalError("COMMIT", {}, Exception("disk full"))
    monkeypatch.setattr("engine.uow.UnitOfWork.commit", broken)
    with pytest.raises(sa.exc.OperationalError):
        files.attach_to_task(engine, CLERK, task_id, "a.pdf", PDF, tmp_path)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    with engine.uow() as uow:
        assert uow.session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 0


def test_the_migration_matches_the_models(db_url):
    mine = {"public_request", "attachment"}
    only_mine = {"include_object": lambda obj, name, kind, reflected, other:
                 (name if kind == "table" else getattr(getattr(obj, "table", None), "name", None)) in mine}
    db = sa.create_engine(db_url)
    with db.connect() as conn:
        assert set(sa.inspect(conn).get_table_names()) >= mine
        assert compare_metadata(MigrationContext.configure(conn, opts=only_mine), Base.metadata) == []
    db.dispose()
