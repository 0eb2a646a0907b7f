"""The public's verbs on objections (engine.verbs.objections, art. 18): the rate limit's counts and
what a submission or a lookup records are one transaction, on every backend."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine.domain import throttle
from engine.errors import InvalidForm, NotFound
from engine.models import Case
from engine.verbs import objections
from engine.views import public

OBJECTION = {"objector_kind": "natural_person", "objector_name": "王某", "contact_phone": "138 0000 0000",
             "resource": "HN-GA-001", "record_ref": "公民身份号码 340822199001011234 的户籍地址",
             "description": "门牌号应为 12 号，登记为 21 号"}
CITIZEN = public.public_actor("natural_person")
HOME = "203.0.113.7"


def counts(world, client: str = HOME) -> dict[str, int]:
    with world.engine.uow() as uow:
        return {kind: throttle.count(uow.session, kind, client, world.clock.now())
                for kind in ("objection", "objection_form", "lookup")}  # the public's limits


def cases(world) -> int:
    with world.engine.uow() as uow:
        return uow.session.scalar(sa.select(sa.func.count()).select_from(Case))


def test_an_objection_is_received_counted_and_looked_up(world):
    received = objections.submit_objection(world.engine, CITIZEN, HOME, OBJECTION)
    assert (received.status, received.provider_code, received.resource_name) == ("received", "340822101",
                                                                                 "户籍人口基本信息")
    assert received.due_date is not None and not received.answer
    assert counts(world) == {"objection": 1, "objection_form": 1, "lookup": 0}
    code = received.receipt_code
    found = objections.look_up_objection(world.engine, HOME, f" {code[:4].lower()}-{code[4:]} ")
    assert found == received
    assert counts(world)["lookup"] == 1


def test_a_refused_submission_counts_against_the_form_only(world):
    with pytest.raises(InvalidForm):
        objections.submit_objection(world.engine, CITIZEN, HOME, {**OBJECTION, "contact_phone": ""})
    assert counts(world) == {"objection": 0, "objection_form": 1, "lookup": 0}
    for _ in range(throttle.LIMITS["objection"].requests):
        objections.submit_objection(world.engine, CITIZEN, HOME, OBJECTION)
    with pytest.raises(objections.TooManyRequests):  # objections full: the form's count still goes up
        objections.submit_objection(world.engine, CITIZEN, HOME, OBJECTION)
    assert counts(world)["objection_form"] == throttle.LIMITS["objection"].requests + 2
    assert cases(world) == throttle.LIMITS["objection"].requests
    assert counts(world, "198.51.100.1")["objection_form"] == 0  # per address


def test_every_lookup_counts_and_odd_codes_are_simply_unknown(world):
    for code in ("ZZZZ-ZZZZ-ZZZZ", "\x00" * 12, "", "ABCDEFGHJKMN" * 3):
        with pytest.raises(NotFound, match="没有与此回执码对应的复核申请"):
            objections.look_up_objection(world.engine, HOME, code)
    assert counts(world)["lookup"] == 4
    for _ in range(throttle.LIMITS["lookup"].requests - 4):
        with pytest.raises(NotFound):
            objections.look_up_objection(world.engine, HOME, "ZZZZZZZZZZZZ")
    with pytest.raises(objections.TooManyRequests):
        objections.look_up_objection(world.engine, HOME, "ZZZZZZZZZZZZ")
    assert counts(world)["lookup"] == throttle.LIMITS["lookup"].requests
