"""Administrators' verbs on rule sets (规则集): add a version, activate one, deactivate one.

Each takes the ``Actor`` and refuses anyone but an administrator itself (``org.require_admin``),
owns its unit of work (the versions locked, the change, one audit record per change, one commit)
and returns plain values (``engine.rule_admin.Version``, ``Change``). The rules they keep (one rule
set at a time, never nothing in force, a new version inactive unless activated) and the reading
functions are ``engine.rule_admin``'s. The web pages (``web/admin/rule_sets.py``) and the command
line (``govflow rules``) call these."""
from __future__ import annotations

import json
from datetime import date
from typing import Mapping

from sqlalchemy.exc import IntegrityError

from .. import audit, rule_admin, rules
from ..domain import org
from ..errors import ConcurrentModification, InvalidForm
from ..rule_admin import Change, Version
from ..uow import Actor
from ..messages import msg

__all__ = ["Change", "Version", "activate", "add", "deactivate"]


def add(engine, actor: Actor, name: str, *, effective_from: date | None, title: str, document: str,
        periods: Mapping[str, object] | None = None, source: str | None = None,
        activate: bool = False) -> Version:
    """Add the next version of rule set ``name`` (a new name starts a new rule set at version 1).

    ``source`` (``name@version``): start from a copy of that version's periods; ``periods``: the values
    set or changed. Refused with ``InvalidForm`` (per field: ``name``, ``effective_from``, ``title``,
    ``document``, ``source`` and each period key) when anything is missing or out of range. Added
    inactive unless ``activate`` (then as ``activate`` would, in the same unit of work)."""
    org.require_admin(actor)
    by = actor.username
    name, title, document = (name or "").strip(), (title or "").strip(), (document or "").strip()
    errors = rule_admin.check_new_version(name, effective_from, title, document)
    now = engine.clock.now()
    with engine.uow() as uow:
        s = uow.session
        rows = rule_admin.version_rows(s, lock=True)
        base: dict[str, object] = {}
        if source:
            found = rule_admin.source_row(rows, source)
            if found is None:
                errors["source"] = msg("rules.not_found", "no such rule set {key}", key=source)
            else:
                base = json.loads(found.periods)
                source = f"{found.name}@{found.version}"
        values = {**base, **dict(periods or {})}
        errors.update(rules.period_problems(values, rules.known_periods(s)))
        if errors:
            raise InvalidForm(errors)
        try:
            added = rules.add_version(s, name, values, effective_from, by, now, title=title, active=False,
                                      document=document)
        except IntegrityError:
            raise ConcurrentModification(msg("rules.changed_concurrently", "the rule sets were changed; try again")) from None
        changed = {k: [base.get(k), v] for k, v in values.items() if source and base.get(k) != v}
        uow.record(audit.Entry(now, by, "rule_set_added", summary={
            "key": added.key, "effective_from": effective_from.isoformat(), "title": title, "document": document,
            "from": source, "changed": changed, "periods": dict(sorted(values.items())), "active": False}))
        if activate:
            rule_admin.apply_change(uow, rule_admin.version_rows(s), "activate", added.key, by, now,
                                    rule_admin.today(engine))
        uow.commit()
    return rule_admin.get(engine, added.key)


def activate(engine, actor: Actor, key: str) -> Change:
    """Make ``key`` (``name@version``) active; every version of any other rule set becomes inactive."""
    return _change(engine, actor, "activate", key)


def deactivate(engine, actor: Actor, key: str) -> Change:
    """Make ``key`` inactive; refused when nothing would be in force today."""
    return _change(engine, actor, "deactivate", key)


def _change(engine, actor: Actor, action: str, key: str) -> Change:
    org.require_admin(actor)
    key = rule_admin.exact_key(key)
    with engine.uow() as uow:
        change = rule_admin.apply_change(uow, rule_admin.version_rows(uow.session, lock=True), action, key,
                                         actor.username, engine.clock.now(), rule_admin.today(engine))
        uow.commit()
    return change
