"""The modeler page and what it posts: validate (JSON), save a draft, upload, deploy; downloads."""
from __future__ import annotations

import secrets
from html import escape

from flask import Response, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.errors import GovflowError, NotFound
from engine.spiff.parser import MAX_XML_BYTES
from engine.verbs import definitions as verbs
from engine.views import modeler as views

from ..context import actor, govflow
from ..i18n import localise
from ..security import HEADERS
from ..inputs import MAX_ID
from . import bp, checks, index

# The properties panel (camunda-bpmn-js 5.30.2) builds its two containers with these style
# attributes; the page allows exactly them (modeler.css sets the same for browsers that refuse).
PANEL_STYLES = ("'sha256-nR5hyLltSjfvi2rqC26RbcredWrJvTaPA1yqPX96jpY='",  # height: 100%
                "'sha256-LIWyuNLBDBQuKJLr4mOx2cFEzHX9lM0BrbfcAAzCvSU='")  # flex: none; height: auto
EDITOR_CSP = HEADERS["Content-Security-Policy"] + "; style-src 'self' 'unsafe-hashes' " + " ".join(PANEL_STYLES)
BLANK = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" \
xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" \
xmlns:camunda="http://camunda.org/schema/1.0/bpmn" \
xmlns:modeler="http://camunda.org/schema/modeler/1.0" id="Definitions_{key}" \
targetNamespace="http://bpmn.io/schema/bpmn" modeler:executionPlatform="Camunda Platform" \
modeler:executionPlatformVersion="7.21.0">
  <bpmn:process id="Process_{key}" name="{name}" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1" name="{start}" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="BPMNDiagram_1">
    <bpmndi:BPMNPlane id="BPMNPlane_1" bpmnElement="Process_{key}">
      <bpmndi:BPMNShape id="StartEvent_1_di" bpmnElement="StartEvent_1">
        <dc:Bounds x="180" y="160" width="36" height="36" />
      </bpmndi:BPMNShape>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""


@bp.get("/edit")
def edit():
    """The modeler on a deployed version (?process=&version=), a draft (?draft=) or a new diagram."""
    if request.args.get("draft") or request.args.get("process"):
        found = _diagram(request.args.get("process", ""))
        return _editor(found.xml, draft_id=found.draft_id, name=found.name, process_id=found.process_id,
                       version=found.version, revision=found.revision)
    return _editor(BLANK.format(key=secrets.token_hex(4), name=escape(_("New procedure")), start=escape(_("Start"))))


@bp.post("/validate")
def validate():
    """Validate the posted diagram: JSON with every problem at its element (for the list and markers)."""
    return jsonify(checks.check(govflow(), _posted_xml()).as_dict())


@bp.post("/drafts")
def save_draft():
    """Save the diagram as a new draft or over the draft it was opened from, which must still be at
    the revision the page was given (else the conflict, shown in the editor with what was posted);
    ``?copy=1``: as a new draft whatever it was opened from."""
    raw, draft_id, name, revision = _posted_xml(), _draft_id(), request.form.get("name", ""), _revision()
    if request.args.get("copy"):
        draft_id = revision = None
    try:
        saved = verbs.save_draft(govflow(), actor(), draft_id, raw, name, revision)
    except verbs.DiagramRejected as exc:
        return _refused(raw, draft_id, name, [checks.problem(localise(str(exc)), None, None, "error")], "",
                        revision)
    except verbs.DraftConflict as exc:
        return _conflict(raw, draft_id, name, revision, exc)
    flash(_("Draft saved: %(name)s", name=saved.name), "success")
    return redirect(url_for("modeler.edit", draft=saved.id))


@bp.post("/drafts/<int:draft_id>/delete")
def delete_draft(draft_id: int):
    name = verbs.delete_draft(govflow(), actor(), draft_id)
    flash(_("Draft deleted: %(name)s", name=name), "success")
    return redirect(url_for("modeler.index"))


@bp.post("/upload")
def upload():
    """A .bpmn file from disk becomes a draft, exactly as it was written, and opens checked."""
    file = request.files.get("file")
    if file is None or not file.filename:
        return index(upload_error=_("Choose a .bpmn file to upload."), status=422)
    raw = file.stream.read(MAX_XML_BYTES + 1)
    try:
        draft_id = verbs.save_draft(govflow(), actor(), None, raw).id
    except verbs.DiagramRejected as exc:
        message = localise(str(exc))
        if exc.kind == "too_large":
            message = _("The file is larger than the limit of %(limit)s MiB.", limit=MAX_XML_BYTES // (1024 * 1024))
        return index(upload_error=_("%(file)s was not accepted: %(reason)s", file=file.filename, reason=message),
                     status=422)
    flash(_("%(file)s uploaded as a draft.", file=file.filename), "success")
    return redirect(url_for("modeler.edit", draft=draft_id, check=1))


@bp.post("/deploy")
def deploy():
    """Deploy the posted diagram (or a stored draft as it is) when validation finds no error."""
    draft_id, name = _draft_id(), request.form.get("name", "")
    raw, revision = _posted_xml(), _revision()
    if not raw.strip() and draft_id is not None:  # the stored draft as it is: checked only against a revision sent
        stored = views.diagram(govflow(), draft_id=draft_id)
        raw, revision = stored.xml.encode("utf-8"), request.form.get("revision") or None
    report = checks.check(govflow(), raw)
    if report.errors:
        return _refused(raw, draft_id, name, report.problems,
                        _("Not deployed: %(summary)s", summary=checks.summary(report)), revision)
    try:
        result = verbs.deploy(govflow(), actor(), raw, draft_id, revision)
    except verbs.DraftConflict as exc:
        return _conflict(raw, draft_id, name, revision, exc, deploying=True)
    except GovflowError as exc:
        problem = checks.problem(localise(str(exc)), getattr(exc, "element_id", None),
                                 getattr(exc, "element_name", None), "error")
        return _refused(raw, draft_id, name, [problem], _("Not deployed."), revision)
    if result.created:
        flash(_("Deployed %(process)s as version %(version)s. New cases start on it; running cases stay on "
                "their version.", process=result.process_id, version=result.version), "success")
    else:
        flash(_("Nothing deployed: the diagram is identical to version %(version)s.", version=result.version),
              "info")
    return redirect(url_for("modeler.versions", process_id=result.process_id))


def _refused(raw: bytes, draft_id: int | None, name: str, problems: list[dict], refused: str,
             revision: str | None = None):
    """The editor again with what was posted, its problems listed and marked: nothing is lost."""
    return _editor(raw.decode("utf-8", "replace"), draft_id=draft_id, name=name, problems=problems, status=422,
                   refused=refused, revision=revision or "")


def _conflict(raw: bytes, draft_id: int | None, name: str, revision: str | None, exc: verbs.DraftConflict,
              deploying: bool = False):
    """Someone saved the draft since this page opened it: the editor again with what was posted and
    the conflict, from which the analyst opens the other's version or saves theirs as a new draft.
    The page keeps the revision it had, so saving over the draft again is refused again."""
    conflict = {"message": localise(str(exc)), "gone": exc.saved_by is None, "deploying": deploying}
    return _editor(raw.decode("utf-8", "replace"), draft_id=draft_id, name=name, status=409,
                   refused=_("Not deployed: the draft changed.") if deploying else _("Not saved: the draft changed."),
                   revision=revision or "", conflict=conflict)


@bp.get("/download")
def download():
    """A deployed version (?process=&version=) or a draft (?draft=) as a .bpmn file."""
    found = _diagram(request.args.get("process", ""))
    if found.draft_id is not None:
        filename = f"{found.process_id or 'diagram'}-draft-{found.draft_id}.bpmn"
    else:
        filename = f"{found.process_id}-v{found.version}.bpmn"
    response = Response(found.xml, mimetype="application/xml")
    response.headers.set("Content-Disposition", "attachment", filename=filename)
    return response


def _editor(xml: str, draft_id: int | None = None, name: str = "", process_id: str = "",
            version: int | None = None, problems: list | None = None, status: int = 200, refused: str = "",
            revision: str = "", conflict: dict | None = None):
    page = render_template("modeler/edit.html", xml=xml, draft_id=draft_id, name=name, process_id=process_id,
                           version=version, problems=problems or [], refused=refused, revision=revision,
                           conflict=conflict, unsaved=status != 200,
                           check_on_load=bool(request.args.get("check")), max_mib=MAX_XML_BYTES // (1024 * 1024))
    return page, status, {"Content-Security-Policy": EDITOR_CSP}


def _diagram(process_id: str) -> views.Diagram:
    """The draft (?draft=) or else the deployed version (?process=&version=, the newest without one)."""
    if request.args.get("draft"):
        return views.diagram(govflow(), draft_id=_int(request.args["draft"]))
    version = request.args.get("version")
    return views.diagram(govflow(), process_id=process_id, version=_int(version) if version else None)


def _posted_xml() -> bytes:
    """The diagram from the form: a field ``xml`` or a file ``file``."""
    file = request.files.get("file")
    if file is not None and file.filename:
        return file.stream.read(MAX_XML_BYTES + 1)
    return request.form.get("xml", "").encode("utf-8")


def _revision() -> str | None:
    """The revision of the draft the page was opened from (saving over a draft needs it: a form
    without it names no revision the draft can be at, and is refused as a conflict)."""
    return request.form.get("revision", "") if _draft_id() is not None else None


def _draft_id() -> int | None:
    value = request.form.get("draft_id", "").strip()
    return _int(value) if value else None


def _int(value: str) -> int:
    """A draft or version id from a query or form: beyond what a row can have, none like it."""
    try:
        found = int(value)
    except (TypeError, ValueError):
        found = None
    if found is None or not 0 <= found <= MAX_ID:
        raise NotFound("没有这个草稿或版本 (no such draft or version)")
    return found
