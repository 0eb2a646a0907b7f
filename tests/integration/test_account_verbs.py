"""A person's own verbs and read models (engine.verbs.accounts/tokens, engine.views.accounts)."""
from __future__ import annotations

import pytest

from engine.domain import org
from engine.errors import NotFound
from engine.uow import Actor
from engine.verbs import accounts, tokens
from engine.views import accounts as views

CLERK = Actor("ga.clerk", frozenset({"provider_clerk"}), "340822101")


@pytest.fixture
def clerk(engine, clock):
    with engine.uow() as uow:
        ga = org.create_department(uow.session, "340822101", "县公安局", "county_department")
        person_id = org.create_person(uow.session, "ga.clerk", "王建国", ga, {"provider_clerk"}, "pass-word-1",
                                      clock.now()).id
        uow.commit()
    return person_id


def test_log_in_gives_the_session_person_and_the_loader_finds_them(engine, clerk):
    assert accounts.log_in(engine, "ga.clerk", "wrong-password", "10.0.0.1") is None
    person = accounts.log_in(engine, "ga.clerk", "pass-word-1", "10.0.0.1")
    assert person == views.SessionPerson(clerk, "ga.clerk", "王建国", "340822101", "县公安局",
                                         frozenset({"provider_clerk"}))
    assert views.person_for_session(engine, person.session_id) == person and person.session_id == f"{clerk}:0"
    assert views.person_for_session(engine, f"{clerk + 1}:0") is None
    assert views.person_for_session(engine, str(clerk)) is None  # a cookie from before sessions had epochs


def test_too_many_failures_are_refused_before_the_password(engine, clerk):
    for _ in range(5):
        accounts.log_in(engine, "ga.clerk", "wrong-password", "10.0.0.1")
    with pytest.raises(accounts.TooManyFailures):
        accounts.log_in(engine, "ga.clerk", "pass-word-1", "10.0.0.1")
    assert accounts.log_in(engine, "ga.clerk", "pass-word-1", "10.0.0.2") is not None


def test_tokens_are_the_acting_persons_own(engine, clerk):
    secret = tokens.create_token(engine, CLERK, "数据中心")
    (token,) = views.my_tokens(engine, CLERK)
    assert secret.startswith(token.prefix) and token.name == "数据中心"
    with pytest.raises(NotFound):
        tokens.revoke_token(engine, Actor("someone.else"), token.id)
    assert tokens.revoke_token(engine, CLERK, token.id) == "数据中心"
    assert views.my_tokens(engine, CLERK) == []


def test_the_home_page_and_the_bell_of_a_new_person(engine, clerk):
    home = views.home(engine, CLERK)
    assert home.counts == {"mine": 0, "unclaimed": 0, "started": 0, "done": 0}
    assert [(p.process_id, p.version) for p in home.processes] == [("review_loop", 1)]  # the fixture deploys it
    assert views.unread_notifications(engine, CLERK) == 0
    assert views.notification_page(engine, CLERK, 30, 0) == views.NotificationPage([], 0)
    assert accounts.mark_notifications_read(engine, CLERK) == 0
