"""The ``attachments`` blueprint: evidence files on a case (证明材料), added from an open task and
downloaded by whoever may see the case. Files live outside the static folder (``ATTACHMENT_DIR``,
default ``<instance>/attachments``, or ``GOVFLOW_ATTACHMENT_DIR``) under random names, and are
only ever sent as downloads."""
from __future__ import annotations

import os
from pathlib import Path

from flask import Blueprint, current_app, flash, redirect, request, send_file, url_for
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge

from engine.errors import GovflowError, InvalidForm, PermissionDenied
from engine.verbs import attachments
from engine.verbs.attachments import ALLOWED_EXTENSIONS, MAX_SIZE

from . import csrf
from .context import actor, govflow
from .errors import flash_refusal
from .i18n import localise

bp = Blueprint("attachments", __name__)
MAX_BODY = MAX_SIZE + 64 * 1024  # the file plus the form's other fields


def directory() -> Path:
    configured = current_app.config.get("ATTACHMENT_DIR") or os.environ.get("GOVFLOW_ATTACHMENT_DIR")
    return Path(configured or Path(current_app.instance_path) / "attachments")


@bp.app_template_global()
def case_attachments(case_id: int) -> list:
    """The files of a case, for the case file partial (the case page checked who may see it)."""
    return attachments.case_attachments(govflow(), actor(), case_id)


@bp.app_template_global()
def attachment_accept() -> str:
    return ",".join(ALLOWED_EXTENSIONS)


@bp.post("/tasks/<task_id>/attachments")
@csrf.exempt  # checked in the view, after the body limit is raised for the file
def upload(task_id: str):
    """Keep an evidence file with the case of an open task of mine (at most 10 MB; pdf, png, jpg,
    docx, xlsx, txt by content)."""
    back = url_for("tasks.show", task_id=task_id)
    request.max_content_length = MAX_BODY
    try:
        csrf.protect()
        upload = request.files.get("file")
    except RequestEntityTooLarge:
        flash(_("The file is larger than %(size)s MB.", size=MAX_SIZE // 1024 // 1024), "error")
        return redirect(back)
    if upload is None or not upload.filename:
        flash(_("Choose a file to upload."), "error")
        return redirect(back)
    try:
        attachments.attach_to_task(govflow(), actor(), task_id, upload.filename, upload.read(MAX_SIZE + 1),
                                   directory())
    except InvalidForm as exc:
        flash(localise(exc.errors.get("file", str(exc))), "error")
        return redirect(back)
    except PermissionDenied:
        raise
    except GovflowError as exc:
        flash_refusal(exc)
        return redirect(back)
    flash(_("File %(name)s added to the case.", name=upload.filename), "success")
    return redirect(back)


@bp.get("/attachments/<int:attachment_id>")
def download(attachment_id: int):
    """The file, as a download only, for someone who may see its case."""
    found, path = attachments.open_attachment(govflow(), actor(), attachment_id, directory())
    response = send_file(path, mimetype=found.content_type, as_attachment=True, download_name=found.original_name,
                         conditional=False, etag=False, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "no-store"
    return response
