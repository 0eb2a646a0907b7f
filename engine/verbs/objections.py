"""The public's verbs on objections (复核, art. 18), without an account and rate-limited per client
address (``engine.domain.throttle``; the page and the API share the limits): raise an objection,
which starts the objection review, and look one up by its receipt code. Each is one unit of work
holding the rate limit's count and what it records together."""
from __future__ import annotations

import re

from ..domain import throttle
from ..domain.throttle import TooManyRequests
from ..errors import GovflowError, NotFound
from ..uow import Actor
from ..views.public import RECEIPT_LENGTH, ObjectionStatus, objections_of, public_actor
from ..messages import msg

__all__ = ["TooManyRequests", "look_up_objection", "public_actor", "submit_objection"]
RECEIPT = re.compile(rf"^[A-Z0-9]{{{RECEIPT_LENGTH}}}$")
NO_RECEIPT = msg("objection.no_receipt", "no objection with this receipt code")


def submit_objection(engine, actor: Actor, client: str, data: dict) -> ObjectionStatus:
    """Raise an objection for ``actor`` (``public_actor(kind)``) from address ``client``: start the
    objection review with the start form's ``data``; return what the objector may read, receipt code
    included. Every submission counts against the form's limit, valid or not; an objection received
    counts against the objections' limit (``TooManyRequests`` once either is full; ``InvalidForm``)."""
    process_id, public = objections_of(engine)
    with engine.uow() as uow:
        now = engine.clock.now()
        throttle.hit(uow.session, "objection_form", client, now)
        try:
            throttle.check(uow.session, "objection", client, now)
            with uow.isolated():  # a refused objection leaves the form's count standing
                case_id = engine.start_case_in(uow, process_id, actor, data)
        except GovflowError:
            uow.commit()
            raise
        throttle.record(uow.session, "objection", client, now)
        status = public.status_of_case(uow.session, case_id)
        uow.commit()
    return status


def look_up_objection(engine, client: str, code: str) -> ObjectionStatus:
    """The objection with receipt code ``code`` (spaces, dashes and case ignored), looked up from
    address ``client``: every lookup counts against its limit (``TooManyRequests``; ``NotFound``)."""
    _, public = objections_of(engine)
    with engine.uow() as uow:
        throttle.hit(uow.session, "lookup", client, engine.clock.now())
        normalised = re.sub(r"[\s-]", "", code or "").upper()
        status = public.status_by_receipt(uow.session, normalised) if RECEIPT.match(normalised) else None
        uow.commit()
    if status is None:
        raise NotFound(NO_RECEIPT)
    return status
