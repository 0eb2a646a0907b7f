"""The modeler page and what it posts: validate (JSON), save a draft, upload, deploy; downloads."""
from __future__ import annotations

import secrets
from html import escape

import sqlalchemy as sa
from flask import Response, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import definitions
from engine.domain import drafts
from engine.errors import GovflowError, NotFound
from engine.models import DefinitionVersion
from engine.spiff.parser import MAX_XML_BYTES

from ..context import actor, govflow
from ..i18n import localise
from ..security import HEADERS
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
    opened = {}
    with govflow().uow() as uow:
        if request.args.get("draft"):
            draft = drafts.get_draft(uow.session, _int(request.args["draft"]))
            opened = {"xml": draft.xml, "draft_id": draft.id, "name": draft.name, "process_id": draft.process_id}
        elif request.args.get("process"):
            row = _version(uow.session, request.args["process"], request.args.get("version"))
            opened = {"xml": row.xml, "name": row.name, "process_id": row.process_id, "version": row.version}
    if not opened:
        opened = {"xml": BLANK.format(key=secrets.token_hex(4), name=escape(_("New procedure")),
                                      start=escape(_("Start")))}
    return _editor(**opened)


@bp.post("/validate")
def validate():
    """Validate the posted diagram: JSON with every problem at its element (for the list and markers)."""
    return jsonify(checks.check(govflow(), _posted_xml()).as_dict())


@bp.post("/drafts")
def save_draft():
    """Save the diagram as a new draft or over the draft it was opened from."""
    raw, draft_id, name = _posted_xml(), _draft_id(), request.form.get("name", "")
    engine = govflow()
    try:
        with engine.uow() as uow:
            draft = drafts.save_draft(uow, draft_id, raw, name, actor().username, engine.clock.now())
            saved_id, saved_name = draft.id, draft.name
            uow.commit()
    except drafts.DiagramRejected as exc:
        return _refused(raw, draft_id, name, [checks.problem(localise(str(exc)), None, None, "error")], "")
    flash(_("Draft saved: %(name)s", name=saved_name), "success")
    return redirect(url_for("modeler.edit", draft=saved_id))


@bp.post("/drafts/<int:draft_id>/delete")
def delete_draft(draft_id: int):
    engine = govflow()
    with engine.uow() as uow:
        name = drafts.delete_draft(uow, draft_id, actor().username, engine.clock.now())
        uow.commit()
    flash(_("Draft deleted: %(name)s", name=name), "success")
    return redirect(url_for("modeler.index"))


@bp.post("/upload")
def upload():
    """A .bpmn file from disk becomes a draft, exactly as it was written, and opens checked."""
    file = request.files.get("file")
    if file is None or not file.filename:
        return index(upload_error=_("Choose a .bpmn file to upload."), status=422)
    raw = file.stream.read(MAX_XML_BYTES + 1)
    engine = govflow()
    try:
        with engine.uow() as uow:
            draft = drafts.save_draft(uow, None, raw, "", actor().username, engine.clock.now())
            draft_id = draft.id
            uow.commit()
    except drafts.DiagramRejected as exc:
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
    raw = _posted_xml()
    if not raw.strip():
        raw = _stored(draft_id)
    engine = govflow()
    report = checks.check(engine, raw)
    if report.errors:
        return _refused(raw, draft_id, name, report.problems,
                        _("Not deployed: %(summary)s", summary=checks.summary(report)))
    try:
        result = engine.deploy(raw, deployed_by=actor().username)
    except GovflowError as exc:
        problem = checks.problem(localise(str(exc)), getattr(exc, "element_id", None),
                                 getattr(exc, "element_name", None), "error")
        return _refused(raw, draft_id, name, [problem], _("Not deployed."))
    if draft_id is not None:
        _discard(draft_id)
    if result.created:
        flash(_("Deployed %(process)s as version %(version)s. New cases start on it; running cases stay on "
                "their version.", process=result.process_id, version=result.version), "success")
    else:
        flash(_("Nothing deployed: the diagram is identical to version %(version)s.", version=result.version),
              "info")
    return redirect(url_for("modeler.versions", process_id=result.process_id))


def _stored(draft_id: int | None) -> bytes:
    if draft_id is None:
        return b""
    with govflow().uow() as uow:
        return drafts.get_draft(uow.session, draft_id).xml.encode("utf-8")


def _refused(raw: bytes, draft_id: int | None, name: str, problems: list[dict], refused: str):
    """The editor again with what was posted, its problems listed and marked: nothing is lost."""
    return _editor(raw.decode("utf-8", "replace"), draft_id=draft_id, name=name, problems=problems, status=422,
                   refused=refused)


@bp.get("/download")
def download():
    """A deployed version (?process=&version=) or a draft (?draft=) as a .bpmn file."""
    with govflow().uow() as uow:
        if request.args.get("draft"):
            draft = drafts.get_draft(uow.session, _int(request.args["draft"]))
            xml, filename = draft.xml, f"{draft.process_id or 'diagram'}-draft-{draft.id}.bpmn"
        else:
            row = _version(uow.session, request.args.get("process", ""), request.args.get("version"))
            xml, filename = row.xml, f"{row.process_id}-v{row.version}.bpmn"
    response = Response(xml, mimetype="application/xml")
    response.headers.set("Content-Disposition", "attachment", filename=filename)
    return response


def _editor(xml: str, draft_id: int | None = None, name: str = "", process_id: str = "",
            version: int | None = None, problems: list | None = None, status: int = 200, refused: str = ""):
    page = render_template("modeler/edit.html", xml=xml, draft_id=draft_id, name=name, process_id=process_id,
                           version=version, problems=problems or [], refused=refused,
                           check_on_load=bool(request.args.get("check")), max_mib=MAX_XML_BYTES // (1024 * 1024))
    return page, status, {"Content-Security-Policy": EDITOR_CSP}


def _version(session, process_id: str, version: str | None) -> DefinitionVersion:
    if version:
        row = session.scalars(sa.select(DefinitionVersion).where(
            DefinitionVersion.process_id == process_id, DefinitionVersion.version == _int(version))).first()
    else:
        row = definitions.latest(session, process_id)
    if row is None:
        raise NotFound("流程版本不存在 (no such definition version)")
    row.xml  # noqa: B018  (deferred: load it inside the unit of work)
    return row


def _posted_xml() -> bytes:
    """The diagram from the form: a field ``xml`` or a file ``file``."""
    file = request.files.get("file")
    if file is not None and file.filename:
        return file.stream.read(MAX_XML_BYTES + 1)
    return request.form.get("xml", "").encode("utf-8")


def _draft_id() -> int | None:
    value = request.form.get("draft_id", "").strip()
    return _int(value) if value else None


def _int(value: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise NotFound("没有这个草稿或版本 (no such draft or version)") from None


def _discard(draft_id: int) -> None:
    engine = govflow()
    try:
        with engine.uow() as uow:
            drafts.delete_draft(uow, draft_id, actor().username, engine.clock.now())
            uow.commit()
    except NotFound:
        pass  # deleted by someone else meanwhile
