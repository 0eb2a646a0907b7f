"""The ``modeler`` blueprint (流程设计器, the ``analyst`` role only): the deployed processes and the
drafts, the Camunda modeler with server-side validation, drafts, upload and download, deployment,
and per process its versions, their differences and the migration of running cases.

Every route checks the role on the server. Diagrams travel in form fields of up to the parser's
2 MiB limit, more than the app's default form size, so this blueprint raises the request limits
for itself and checks the CSRF token itself, after raising them (the app-wide check would read the
form under the default limits first).
"""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from engine.errors import PermissionDenied
from engine.spiff.parser import MAX_XML_BYTES
from engine.views import modeler as views

from .. import csrf
from ..context import govflow

bp = Blueprint("modeler", __name__, url_prefix="/modeler")
ANALYSTS = ("analyst",)
MAX_REQUEST_BYTES = MAX_XML_BYTES + 1024 * 1024  # a diagram at the limit, multipart overhead, other fields
csrf.exempt(bp)


@bp.before_request
def analysts_only():
    """Only analysts; everyone else gets the 403 page. Then the limits and the CSRF check."""
    if not current_user.is_authenticated or not current_user.has_role(*ANALYSTS):
        raise PermissionDenied("仅流程分析员可使用流程设计器 (the modeler is for process analysts only)")
    request.max_content_length = MAX_REQUEST_BYTES
    request.max_form_memory_size = MAX_REQUEST_BYTES
    if current_app.config.get("WTF_CSRF_ENABLED", True):
        csrf.protect()


@bp.errorhandler(RequestEntityTooLarge)
def too_large(_exc):
    from ..errors import error_page
    return error_page(413, _("The diagram is larger than the limit of %(limit)s MiB.",
                             limit=MAX_XML_BYTES // (1024 * 1024)))


@bp.get("/")
def index(upload_error: str | None = None, status: int = 200):
    """The deployed processes (newest version, running cases per version) and the saved drafts."""
    found = views.overview(govflow())
    return render_template("modeler/index.html", latest=found.latest, running=found.running, drafts=found.drafts,
                           names=found.names, upload_error=upload_error,
                           max_mib=MAX_XML_BYTES // (1024 * 1024)), status


from . import editor, versions  # noqa: E402,F401  (routes on bp)
from . import dryrun  # noqa: E402,F401  (试运行: POST /modeler/dryrun)
