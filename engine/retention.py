"""How long the public's contact data are kept (issue 15; the regulation's art. 29 asks the
authority to keep data safe, and personal data are kept no longer than needed).

An administrator sets ``contact_retention_days`` (default 365): that many days after a case
ended, the contact data the public gave in it (an objector's name, phone and e-mail) are
anonymised. The record itself, its outcome and its audit trail stay. Each anonymisation is audited
without the data. The procedures that hold such data provide ``anonymise_contacts(uow, ended_before,
actor, now) -> int`` (``PROVIDES``); the timer worker runs ``apply`` every night, and
``govflow retention run`` runs it at once.
"""
from __future__ import annotations

from datetime import timedelta

from . import audit
from .domain import org
from .errors import InvalidForm
from .messages import msg
from .models import Setting
from .uow import Actor

KEY = "contact_retention_days"
DEFAULT_DAYS = 365
MIN_DAYS, MAX_DAYS = 30, 3650
ACTOR = Actor.system("retention")
CAPABILITY = "anonymise_contacts"


def retention_days(session) -> int:
    row = session.get(Setting, KEY)
    return int(row.value) if row is not None and row.value.isdigit() else DEFAULT_DAYS


def set_retention_days(engine, actor: Actor, days: int) -> None:
    """An administrator's choice (audited), between ``MIN_DAYS`` and ``MAX_DAYS``."""
    org.require_admin(actor)
    if not isinstance(days, int) or not MIN_DAYS <= days <= MAX_DAYS:
        raise InvalidForm({"days": msg("retention.range", "between {low} and {high} days",
                                       low=MIN_DAYS, high=MAX_DAYS)})
    with engine.uow() as uow:
        row = uow.session.get(Setting, KEY) or Setting(key=KEY, value="")
        before, row.value = row.value, str(days)
        uow.session.add(row)
        uow.record(audit.Entry(engine.clock.now(), actor.username, "setting_changed",
                               summary={"key": KEY, "from": before or str(DEFAULT_DAYS), "to": str(days)}))
        uow.commit()


def apply(engine) -> int:
    """Anonymise the contact data of cases that ended more than the retention period ago, in every
    procedure that holds some; return how many records were anonymised."""
    now = engine.clock.now()
    done = 0
    with engine.uow() as uow:
        cutoff = now - timedelta(days=retention_days(uow.session))
        for proc in engine.procedures.values():
            anonymise = proc.provides.get(CAPABILITY)
            if anonymise is not None:
                done += anonymise(uow, cutoff, ACTOR, now)
        uow.commit()
    return done
