"""Errors the service layer raises; each carries a message a clerk can read."""
from __future__ import annotations

from .messages import Message, msg


class GovflowError(Exception):
    """Base class: a refused operation that changed nothing."""

    code = "error"


class NotFound(GovflowError):
    code = "not_found"


class PermissionDenied(GovflowError):
    code = "forbidden"


class AlreadyDone(GovflowError):
    """The task was completed (or the case moved on) before this request."""

    code = "already_done"


class ConcurrentModification(GovflowError):
    """Someone else changed the case between our read and our write."""

    code = "conflict"


class InvalidForm(GovflowError):
    code = "invalid_form"

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


class DefinitionError(GovflowError):
    """A diagram that cannot be deployed, with the element it concerns."""

    code = "invalid_definition"

    def __init__(self, message: str, element_id: str | None = None, element_name: str | None = None):
        self.element_id = element_id
        self.element_name = element_name
        element = f"{element_id}{' ' + element_name if element_name else ''}" if element_id else ""
        if isinstance(message, Message):
            super().__init__(msg("definition.at_element", "{problem} [{element}]", problem=message, element=element)
                             if element else message)
        else:
            super().__init__(message + (f" [{element}]" if element else ""))


class ScriptError(GovflowError):
    """A script or condition in a diagram failed or tried something forbidden."""

    code = "script_error"


class ScriptBudgetExceeded(ScriptError):
    """Diagram code ran past its CPU-time, memory or wall-clock budget (engine.spiff.sandbox)."""

    code = "script_budget"


class CaseHasIncident(GovflowError):
    """The case is stopped by an incident (engine.incidents) until an analyst retries or migrates it."""

    code = "incident"


class CaseStalled(GovflowError):
    """The engine found a running case with nothing ready and nothing waiting."""

    code = "stalled"
