"""The ``modeler`` blueprint (流程设计器, the ``analyst`` role only): the deployed processes and the
drafts, the Camunda modeler with server-side validation, drafts, upload and download, deployment,
and per process its versions, their differences and the migration of running cases.

Every route checks the role on the server. Diagrams travel in form fields of up to the parser's
2 MiB limit, more than the app's default form size, so this blueprint raises the request limits
for itself and checks the CSRF token itself, after raising them (the app-wide check would read the
form under the default limits first).
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from engine import definitions
from engine.domain import drafts
from engine.domain.org import Person
from engine.errors import PermissionDenied
from engine.models import Case
from engine.spiff.parser import MAX_XML_BYTES

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
    with govflow().uow() as uow:
        latest = definitions.list_latest(uow.session)
        running = running_counts(uow.session)
        saved = drafts.list_drafts(uow.session)
        names = display_names(uow.session, {d.saved_by for d in saved} | {v.deployed_by for v in latest})
    return render_template("modeler/index.html", latest=latest, running=running, drafts=saved, names=names,
                           upload_error=upload_error, max_mib=MAX_XML_BYTES // (1024 * 1024)), status


def running_counts(session, process_id: str | None = None) -> dict[str, dict[int, int]]:
    """Running cases per process and version: {process_id: {version: count}}."""
    from engine.models import DefinitionVersion
    query = (sa.select(Case.process_id, DefinitionVersion.version, sa.func.count())
             .join(DefinitionVersion, Case.definition_id == DefinitionVersion.id)
             .where(Case.status == "running").group_by(Case.process_id, DefinitionVersion.version))
    if process_id is not None:
        query = query.where(Case.process_id == process_id)
    counts: dict[str, dict[int, int]] = {}
    for process, version, count in session.execute(query):
        counts.setdefault(process, {})[version] = count
    return counts


def display_names(session, logins: set[str]) -> dict[str, str]:
    """People's names for the logins shown (a system login is shown as it is)."""
    if not logins:
        return {}
    return dict(session.execute(sa.select(Person.login, Person.display_name).where(Person.login.in_(logins))).all())


from . import editor, versions  # noqa: E402,F401  (routes on bp)
