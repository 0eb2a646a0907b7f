"""Error pages, and the engine's refusals as messages a clerk can read (never a 500 for those)."""
from __future__ import annotations

from flask import current_app, flash, render_template
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from engine.errors import GovflowError, NotFound, PermissionDenied, ScriptError

from .i18n import localise


def init_app(app) -> None:
    app.register_error_handler(CSRFError, csrf_failed)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(PermissionDenied, lambda exc: error_page(403, message(exc)))
    app.register_error_handler(NotFound, lambda exc: error_page(404, message(exc)))
    app.register_error_handler(GovflowError, lambda exc: error_page(409, message(exc)))


def message(exc: GovflowError) -> str:
    """What to tell the clerk about a refused operation, in the page's language."""
    if isinstance(exc, ScriptError):
        current_app.logger.warning("script error: %s", exc)
        return _("A step of the procedure failed, so nothing was changed. "
                 "Please tell the administrator.")
    return localise(str(exc))


def flash_refusal(exc: GovflowError) -> None:
    flash(message(exc), "error")


def error_page(status: int, text: str | None = None):
    titles = {400: _("Bad request"), 403: _("Not allowed"), 404: _("Not found"), 409: _("Not possible"),
              413: _("Too much data"), 429: _("Too many requests"), 500: _("Server error")}
    return render_template("errors/error.html", status=status, title=titles.get(status, _("Error")),
                           message=text), status


def csrf_failed(exc: CSRFError):
    return error_page(400, _("The form has expired or did not come from this site. "
                             "Please go back, reload the page and try again."))


def http_error(exc: HTTPException):
    if exc.code is None or exc.code < 400:
        return exc
    return error_page(exc.code)
