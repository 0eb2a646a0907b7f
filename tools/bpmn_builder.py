"""Build govflow procedure diagrams (BPMN 2.0, Camunda 7 dialect) with complete diagram interchange.

A compact Python API places flow nodes on a grid of lanes, rows and columns and writes a document the
Camunda 7 Modeler and bpmn-js open as drawn: one participant with horizontal lanes, shapes for every
participant, lane, flow node and boundary event, and orthogonal edges for every sequence flow::

    d = Diagram("share_application", "共享申请")
    d.lane("consumer", "数据使用部门")
    d.lane("provider", "数据提供部门")
    d.start("start", "提交申请", lane="consumer", col=0)
    d.user_task("review", "审核共享申请", lane="provider", col=1, candidate_groups="provider_clerk",
                form=[Field("decision", "审核结果", "enum", required=True,
                            values=[("approve", "同意"), ("refuse", "不同意")])])
    d.boundary_timer("review_overdue", "超期", attached_to="review",
                     time_date="workdays(rules.share_reply_days)", kind="overdue")
    ...
    d.flow("f1", "start", "review")
    write(d, "workflows/share_application.bpmn")

Layout: columns are ``COL_W`` wide, each lane row ``ROW_H`` high; a node sits centred in its
(lane, row, col) cell.  Lanes are stacked top to bottom in declaration order and get as many rows
(1-3) as their nodes use.  Boundary events sit on the bottom edge of their task.  Edges are routed
orthogonally: forward flows leave on the right and enter on the left, backward flows (target column
<= source column) leave at the bottom and run below the nodes, flows from boundary events leave at
the event's bottom.  A route that would cross another shape is replaced by one that runs in the gaps
between grid cells, where no shape ever sits; edges sharing such a gap are spread onto parallel
tracks.  Gateway, boundary-event and flow labels get explicit BPMNLabel bounds placed clear of the
shapes (and, where there is room, of each other); other labels are left to bpmn-js's default.

A user task given ``multi_instance=MultiInstance(collection="departments", element_variable="department")``
runs once per item of the list, each instance holding its item in the element variable.

``to_xml()`` validates the specification first and raises ValueError naming the problem.
"""
from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from lxml import etree

__all__ = ["Diagram", "Field", "MultiInstance", "write", "COL_W", "ROW_H"]

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
    "camunda": "http://camunda.org/schema/1.0/bpmn",
    "modeler": "http://camunda.org/schema/modeler/1.0",
}
TARGET_NAMESPACE = "http://govflow.example/bpmn"
EXPORTER = "govflow bpmn_builder"
EXPORTER_VERSION = "1.0"
EXECUTION_PLATFORM_VERSION = "7.22.0"

# Geometry (pixels).
PARTICIPANT_X = 120
PARTICIPANT_Y = 80
LABEL_BAND = 30            # the participant's vertical name band, left of the lanes
LANE_X = PARTICIPANT_X + LABEL_BAND
COL_W = 180
ROW_H = 180
MAX_ROWS = 6
CHANNEL_INSET = 12         # horizontal edge channels run this far above a row's bottom border
SIZES = {"task": (100, 80), "gateway": (50, 50), "event": (36, 36)}
BOUNDARY_OFFSETS = {1: (25,), 2: (-25, 25)}   # boundary event centres, relative to the task centre

TASKS = {"userTask", "scriptTask"}
GATEWAYS = {"exclusiveGateway", "inclusiveGateway", "parallelGateway"}
ID_PATTERN = re.compile(r"^[^\W\d][\w.-]*$")
DEADLINE_KINDS = {"overdue", "reminder"}


def _q(prefix: str, tag: str) -> str:
    return f"{{{NS[prefix]}}}{tag}"


# --------------------------------------------------------------------------- model


@dataclass
class Field:
    """One ``camunda:formField`` of a generated task form."""

    id: str
    label: str
    type: str = "string"
    required: bool = False
    readonly: bool = False
    minlength: int | None = None
    maxlength: int | None = None
    min: int | None = None
    max: int | None = None
    values: Sequence[tuple[str, str]] = ()      # enum options: (id, name)
    default: str | None = None
    properties: Mapping[str, str] = field(default_factory=dict)

    def constraints(self) -> list[tuple[str, str | None]]:
        out: list[tuple[str, str | None]] = []
        if self.required:
            out.append(("required", None))
        if self.readonly:
            out.append(("readonly", None))
        for name in ("minlength", "maxlength", "min", "max"):
            value = getattr(self, name)
            if value is not None:
                out.append((name, str(value)))
        return out


@dataclass(frozen=True)
class MultiInstance:
    """A user task that runs once per item of a case-data list, as the Camunda Modeler writes it::

        <bpmn:multiInstanceLoopCharacteristics camunda:collection="departments"
                                               camunda:elementVariable="department" />

    Each instance's task data holds its item under ``element_variable`` (so a task property
    ``department`` naming that variable scopes each instance to its own department). ``collection``
    is a plain case-data variable name, not a ``${...}`` expression: SpiffWorkflow's Camunda parser
    reads it as a variable. Instances run in parallel unless ``sequential``.
    """

    collection: str
    element_variable: str
    sequential: bool = False


@dataclass
class _Lane:
    id: str
    name: str
    rows: int = 1


@dataclass
class _Node:
    id: str
    kind: str                      # BPMN element local name
    name: str | None
    lane: str | None = None
    col: int = 0
    row: int = 0
    documentation: str | None = None
    properties: dict[str, str] = field(default_factory=dict)
    attrs: dict = field(default_factory=dict)   # kind-specific settings

    @property
    def shape(self) -> str:
        if self.kind in TASKS:
            return "task"
        if self.kind in GATEWAYS:
            return "gateway"
        return "event"


@dataclass
class _Flow:
    id: str
    source: str
    target: str
    name: str | None = None
    condition: str | None = None


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    def overlaps(self, other: "Box") -> bool:
        return (self.x < other.right and other.x < self.right
                and self.y < other.bottom and other.y < self.bottom)

    def crossed_by(self, a: tuple[float, float], b: tuple[float, float]) -> bool:
        """Does the axis-parallel segment a-b pass through this box's interior (border excluded)?"""
        x0, y0, x1, y1 = self.x + 1, self.y + 1, self.right - 1, self.bottom - 1
        if a[1] == b[1]:
            lo, hi = sorted((a[0], b[0]))
            return y0 < a[1] < y1 and lo < x1 and hi > x0
        lo, hi = sorted((a[1], b[1]))
        return x0 < a[0] < x1 and lo < y1 and hi > y0


Point = tuple[float, float]


# --------------------------------------------------------------------------- the builder


class Diagram:
    """One executable process inside one participant, laid out on a lane/row/column grid."""

    def __init__(self, process_id: str, name: str, *, participant_name: str | None = None,
                 documentation: str | None = None, target_namespace: str = TARGET_NAMESPACE):
        self.process_id = process_id
        self.name = name
        self.participant_name = participant_name or name
        self.documentation = documentation
        self.target_namespace = target_namespace
        self._lanes: list[_Lane] = []
        self._nodes: list[_Node] = []
        self._flows: list[_Flow] = []

    # ------------------------------------------------------------------ declaring

    def lane(self, id: str, name: str, *, rows: int = 1) -> str:
        """Declare a lane; lanes are stacked top to bottom in call order.

        ``rows`` reserves rows up front; a lane grows anyway to the highest ``row=`` a node uses.
        """
        if not 1 <= rows <= MAX_ROWS:
            raise ValueError(f"lane {id!r}: rows must be 1..{MAX_ROWS}, not {rows!r}")
        self._lanes.append(_Lane(id, name, rows))
        return id

    def start(self, id: str, name: str | None = None, *, lane: str, col: int, row: int = 0,
              properties: Mapping[str, str] | None = None, documentation: str | None = None) -> str:
        return self._add(id, "startEvent", name, lane, col, row, documentation, properties)

    def end(self, id: str, name: str | None = None, *, lane: str, col: int, row: int = 0,
            terminate: bool = False, properties: Mapping[str, str] | None = None,
            documentation: str | None = None) -> str:
        return self._add(id, "endEvent", name, lane, col, row, documentation, properties,
                         terminate=terminate)

    def user_task(self, id: str, name: str | None = None, *, lane: str, col: int, row: int = 0,
                  candidate_groups: str | Iterable[str] | None = None,
                  candidate_users: str | Iterable[str] | None = None,
                  assignee: str | None = None, form_key: str | None = None,
                  form: Sequence[Field] | None = None,
                  properties: Mapping[str, str] | None = None,
                  documentation: str | None = None,
                  multi_instance: MultiInstance | None = None) -> str:
        """``multi_instance``: run the task once per item of a case-data list (see MultiInstance);
        boundary events attached to it watch all instances together."""
        if multi_instance is not None and not isinstance(multi_instance, MultiInstance):
            raise ValueError(f"user task {id!r}: multi_instance must be a MultiInstance, not {multi_instance!r}")
        return self._add(id, "userTask", name, lane, col, row, documentation, properties,
                         candidate_groups=_as_list(candidate_groups),
                         candidate_users=_as_list(candidate_users),
                         assignee=assignee, form_key=form_key, form=list(form or ()),
                         multi_instance=multi_instance)

    def script_task(self, id: str, name: str | None = None, *, lane: str, col: int, row: int = 0,
                    script: str, properties: Mapping[str, str] | None = None,
                    documentation: str | None = None) -> str:
        return self._add(id, "scriptTask", name, lane, col, row, documentation, properties,
                         script=script)

    def exclusive_gateway(self, id: str, name: str | None = None, *, lane: str, col: int, row: int = 0,
                          default: str | None = None, documentation: str | None = None) -> str:
        """``default`` names the id of one of the gateway's outgoing flows."""
        return self._add(id, "exclusiveGateway", name, lane, col, row, documentation, None,
                         default=default)

    def inclusive_gateway(self, id: str, name: str | None = None, *, lane: str, col: int, row: int = 0,
                          default: str | None = None, documentation: str | None = None) -> str:
        return self._add(id, "inclusiveGateway", name, lane, col, row, documentation, None,
                         default=default)

    def parallel_gateway(self, id: str, name: str | None = None, *, lane: str, col: int, row: int = 0,
                         documentation: str | None = None) -> str:
        return self._add(id, "parallelGateway", name, lane, col, row, documentation, None)

    def intermediate_timer(self, id: str, name: str | None = None, *, lane: str, col: int, row: int = 0,
                           time_date: str | None = None, time_duration: str | None = None,
                           documentation: str | None = None) -> str:
        """A timer catch event: exactly one of ``time_date`` (instant expression) or ``time_duration``."""
        return self._add(id, "intermediateCatchEvent", name, lane, col, row, documentation, None,
                         timer=_timer(id, time_date, time_duration))

    def boundary_timer(self, id: str, name: str | None = None, *, attached_to: str,
                       time_date: str | None = None, time_duration: str | None = None,
                       kind: str | None = None, interrupting: bool = False,
                       properties: Mapping[str, str] | None = None,
                       documentation: str | None = None) -> str:
        """A timer on the bottom edge of task ``attached_to``; NON-interrupting unless told otherwise.

        ``kind`` ("overdue" or "reminder") becomes the ``camunda:property deadline=...`` the engine's
        deadline table reads.
        """
        if kind is not None and kind not in DEADLINE_KINDS:
            raise ValueError(f"boundary timer {id!r}: kind must be one of {sorted(DEADLINE_KINDS)}, not {kind!r}")
        props = dict(properties or {})
        if kind is not None:
            props["deadline"] = kind
        node = _Node(id, "boundaryEvent", name, documentation=documentation, properties=props,
                     attrs={"attached_to": attached_to, "interrupting": interrupting,
                            "timer": _timer(id, time_date, time_duration)})
        self._nodes.append(node)
        return id

    def flow(self, id: str, source: str, target: str, name: str | None = None,
             condition: str | None = None) -> str:
        """A sequence flow; ``condition`` becomes a ``bpmn:conditionExpression`` (tFormalExpression)."""
        self._flows.append(_Flow(id, source, target, name, condition))
        return id

    def _add(self, id, kind, name, lane, col, row, documentation, properties, **attrs) -> str:
        if not isinstance(col, int) or isinstance(col, bool) or col < 0:
            raise ValueError(f"{id!r}: col must be a whole number >= 0, not {col!r}")
        if not isinstance(row, int) or isinstance(row, bool) or not 0 <= row < MAX_ROWS:
            raise ValueError(f"{id!r}: row must be 0..{MAX_ROWS - 1}, not {row!r}")
        self._nodes.append(_Node(id, kind, name, lane, col, row, documentation,
                                 dict(properties or {}), attrs))
        return id

    # ------------------------------------------------------------------ validation

    def validate(self) -> None:
        """Raise ValueError naming the first problem found in the specification."""
        ids: dict[str, str] = {}
        for what, item_id in ([("process", self.process_id)]
                              + [("lane", lane.id) for lane in self._lanes]
                              + [(n.kind, n.id) for n in self._nodes]
                              + [("sequenceFlow", f.id) for f in self._flows]):
            if not isinstance(item_id, str) or not ID_PATTERN.match(item_id):
                raise ValueError(f"{what} id {item_id!r} is not a valid XML id (letter or _ first, "
                                 f"then letters, digits, _ . -)")
            if item_id in ids:
                raise ValueError(f"duplicate id {item_id!r} (used by a {ids[item_id]} and a {what})")
            ids[item_id] = what
        for derived in (f"Participant_{self.process_id}", f"Collaboration_{self.process_id}",
                        f"LaneSet_{self.process_id}", f"Definitions_{self.process_id}"):
            if derived in ids:
                raise ValueError(f"id {derived!r} is reserved for the diagram's own elements")
        if not self._lanes:
            raise ValueError("the diagram declares no lane; call lane() first")

        nodes = {n.id: n for n in self._nodes}
        lanes = {lane.id for lane in self._lanes}
        cells: dict[tuple[str, int, int], str] = {}
        for n in self._nodes:
            if n.kind == "boundaryEvent":
                host = nodes.get(n.attrs["attached_to"])
                if host is None:
                    raise ValueError(f"boundary event {n.id!r} is attached to unknown node "
                                     f"{n.attrs['attached_to']!r}")
                if host.kind not in TASKS:
                    raise ValueError(f"boundary event {n.id!r} must be attached to a task, "
                                     f"not the {host.kind} {host.id!r}")
                continue
            if n.lane not in lanes:
                raise ValueError(f"{n.kind} {n.id!r} is in undeclared lane {n.lane!r} "
                                 f"(declared: {', '.join(sorted(lanes))})")
            cell = (n.lane, n.row, n.col)
            if cell in cells:
                raise ValueError(f"{n.id!r} and {cells[cell]!r} both sit in lane {n.lane!r} "
                                 f"row {n.row} col {n.col}")
            cells[cell] = n.id
        for host in self._nodes:
            count = sum(1 for b in self._boundaries(host.id))
            if count > len(BOUNDARY_OFFSETS):
                raise ValueError(f"task {host.id!r} has {count} boundary events; at most "
                                 f"{len(BOUNDARY_OFFSETS)} fit on its bottom edge")

        for f in self._flows:
            for end, ref in (("source", f.source), ("target", f.target)):
                if ref not in nodes:
                    raise ValueError(f"sequence flow {f.id!r}: {end} {ref!r} is not a flow node")
            if nodes[f.source].kind == "endEvent":
                raise ValueError(f"sequence flow {f.id!r} leaves the end event {f.source!r}")
            if nodes[f.target].kind in {"startEvent", "boundaryEvent"}:
                raise ValueError(f"sequence flow {f.id!r} enters the {nodes[f.target].kind} {f.target!r}")
            if f.condition is not None and not f.condition.strip():
                raise ValueError(f"sequence flow {f.id!r} has an empty condition")
            if f.condition is not None and nodes[f.source].kind == "parallelGateway":
                raise ValueError(f"sequence flow {f.id!r} leaves a parallel gateway and cannot have a condition")

        for n in self._nodes:
            outgoing = [f for f in self._flows if f.source == n.id]
            default = n.attrs.get("default")
            if default is not None:
                match = [f for f in outgoing if f.id == default]
                if not match:
                    raise ValueError(f"gateway {n.id!r}: default {default!r} is not one of its outgoing "
                                     f"flows ({', '.join(f.id for f in outgoing) or 'none'})")
                if match[0].condition is not None:
                    raise ValueError(f"gateway {n.id!r}: default flow {default!r} must not have a condition")
            if n.kind in {"userTask", "scriptTask", "startEvent", "intermediateCatchEvent",
                          "boundaryEvent"} and len(outgoing) > 1:
                raise ValueError(f"{n.kind} {n.id!r} has {len(outgoing)} outgoing flows; "
                                 f"split with a gateway")
            if n.kind == "userTask":
                a = n.attrs
                if not (a["candidate_groups"] or a["candidate_users"] or a["assignee"]):
                    raise ValueError(f"user task {n.id!r} names no candidate_groups, candidate_users or "
                                     f"assignee (the engine would use the lane name as the role)")
                seen = set()
                for fld in a["form"]:
                    if fld.id in seen:
                        raise ValueError(f"user task {n.id!r}: form field {fld.id!r} appears twice")
                    seen.add(fld.id)
                    if fld.type == "enum" and not fld.values and "options" not in fld.properties:
                        raise ValueError(f"user task {n.id!r}: enum field {fld.id!r} has no values")
                _check_multi_instance(n)
            if n.kind == "scriptTask" and not (n.attrs["script"] or "").strip():
                raise ValueError(f"script task {n.id!r} has no script")

    def _boundaries(self, host_id: str) -> list[_Node]:
        return [n for n in self._nodes if n.kind == "boundaryEvent" and n.attrs["attached_to"] == host_id]

    # ------------------------------------------------------------------ layout

    def _layout(self):
        lane_rows = {lane.id: lane.rows for lane in self._lanes}
        for n in self._nodes:
            if n.kind != "boundaryEvent":
                lane_rows[n.lane] = max(lane_rows[n.lane], n.row + 1)
        ncols = max([n.col for n in self._nodes if n.kind != "boundaryEvent"] + [0]) + 1
        lane_boxes: dict[str, Box] = {}
        y = PARTICIPANT_Y
        for lane in self._lanes:
            h = lane_rows[lane.id] * ROW_H
            lane_boxes[lane.id] = Box(LANE_X, y, ncols * COL_W, h)
            y += h
        participant = Box(PARTICIPANT_X, PARTICIPANT_Y, LABEL_BAND + ncols * COL_W, y - PARTICIPANT_Y)

        boxes: dict[str, Box] = {}
        for n in self._nodes:
            if n.kind == "boundaryEvent":
                continue
            w, h = SIZES[n.shape]
            cx = LANE_X + n.col * COL_W + COL_W / 2
            cy = lane_boxes[n.lane].y + n.row * ROW_H + ROW_H / 2
            boxes[n.id] = Box(cx - w / 2, cy - h / 2, w, h)
        for host in self._nodes:
            attached = self._boundaries(host.id)
            for offset, b in zip(BOUNDARY_OFFSETS.get(len(attached), ()), attached):
                hb = boxes[host.id]
                w, h = SIZES["event"]
                boxes[b.id] = Box(hb.cx + offset - w / 2, hb.bottom - h / 2, w, h)
        return participant, lane_boxes, boxes

    # ------------------------------------------------------------------ routing

    def _routes(self, lane_boxes: dict[str, Box], boxes: dict[str, Box]) -> dict[str, list[Point]]:
        nodes = {n.id: n for n in self._nodes}

        def cell_of(node: _Node) -> _Node:
            return nodes[node.attrs["attached_to"]] if node.kind == "boundaryEvent" else node

        def vchan(col: int) -> float:       # vertical channel at the left border of a column's cells
            return LANE_X + col * COL_W if col > 0 else LANE_X + 15

        def hchan(node: _Node) -> float:    # horizontal channel near the bottom of a node's row
            cell = cell_of(node)
            return lane_boxes[cell.lane].y + (cell.row + 1) * ROW_H - CHANNEL_INSET

        def candidates(f: _Flow) -> list[tuple[str, list[Point]]]:
            s, t = nodes[f.source], nodes[f.target]
            sb, tb = boxes[s.id], boxes[t.id]
            scol, tcol = cell_of(s).col, t.col
            out: list[tuple[str, list[Point]]] = []
            left_in = (tb.x, tb.cy)
            xt = vchan(tcol)
            if s.kind == "boundaryEvent":
                p = (sb.cx, sb.bottom)
                if tb.y > p[1]:
                    if tb.x < p[0] < tb.right:
                        out.append(("bottom", [p, (p[0], tb.y)]))
                    if tb.x > p[0]:
                        out.append(("bottom", [p, (p[0], tb.cy), left_in]))
                    m = (p[1] + tb.y) / 2
                    out.append(("bottom", [p, (p[0], m), (tb.cx, m), (tb.cx, tb.y)]))
                h = hchan(s)
                out.append(("bottom", [p, (p[0], h), (xt, h), (xt, tb.cy), left_in]))
                return out
            if tcol > scol:
                right_out = (sb.right, sb.cy)
                if sb.cy == tb.cy:
                    out.append(("right", [right_out, left_in]))
                elif s.shape == "gateway":
                    if tb.cy > sb.cy:
                        out.append(("bottom", [(sb.cx, sb.bottom), (sb.cx, tb.cy), left_in]))
                    else:
                        out.append(("top", [(sb.cx, sb.y), (sb.cx, tb.cy), left_in]))
                xs = vchan(scol + 1)
                out.append(("right", [right_out, (xt, sb.cy), (xt, tb.cy), left_in]))
                out.append(("right", [right_out, (xs, sb.cy), (xs, tb.cy), left_in]))
                h = hchan(s)
                out.append(("right", [right_out, (xs, sb.cy), (xs, h), (xt, h), (xt, tb.cy), left_in]))
                return out
            # backward: target column <= source column; leave at the bottom, run below the nodes
            p = (sb.cx, sb.bottom)
            if tcol == scol and s.id != t.id:
                if tb.y > sb.bottom:
                    out.append(("bottom", [p, (tb.cx, tb.y)]))
                elif tb.bottom < sb.y:
                    out.append(("top", [(sb.cx, sb.y), (tb.cx, tb.bottom)]))
            h = hchan(s)
            if s.id != t.id and hchan(t) == h and not self._boundaries(t.id):
                out.append(("bottom", [p, (sb.cx, h), (tb.cx, h), (tb.cx, tb.bottom)]))
            out.append(("bottom", [p, (sb.cx, h), (xt, h), (xt, tb.cy), left_in]))
            ht = hchan(t)
            if not self._boundaries(t.id):
                out.append(("bottom", [p, (sb.cx, h), (xt, h), (xt, ht), (tb.cx, ht), (tb.cx, tb.bottom)]))
            return out

        def clear(points: list[Point]) -> bool:
            return not any(box.crossed_by(a, b) for a, b in zip(points, points[1:]) for box in boxes.values())

        # Backward and boundary flows have the fewest choices: route them first so that forward
        # flows can avoid the exit sides they take.
        def rank(f: _Flow) -> int:
            s, t = nodes[f.source], nodes[f.target]
            return 0 if s.kind == "boundaryEvent" or t.col <= cell_of(s).col else 1

        used: set[tuple[str, str]] = set()
        routes: dict[str, list[Point]] = {}
        for f in sorted(self._flows, key=rank):
            options = [(side, pts) for side, pts in
                       ((side, _simplify(pts)) for side, pts in candidates(f)) if pts]
            options = [(side, pts) for side, pts in options if clear(pts)]
            if not options:  # unreachable: the last candidate runs only in free channels
                options = [(side, _simplify(pts)) for side, pts in candidates(f)[-1:]]
            free = [o for o in options if (f.source, o[0]) not in used]
            side, points = (free or options)[0]
            used.add((f.source, side))
            routes[f.id] = points
        ncols = max([n.col for n in self._nodes if n.kind != "boundaryEvent"] + [0]) + 1
        verticals = {vchan(c) for c in range(ncols + 1)}
        horizontals = {box.y + (r + 1) * ROW_H - CHANNEL_INSET
                       for box in lane_boxes.values() for r in range(int(box.h // ROW_H))}
        return _separate(routes, verticals, horizontals, clear)

    # ------------------------------------------------------------------ XML

    def to_xml(self) -> str:
        """The diagram as a string (no XML declaration, so lxml.etree.fromstring accepts it)."""
        # "<x />" as bpmn-js writes it; lxml escapes ">" in text and attributes, so only tags match.
        return etree.tostring(self._tree(), encoding="unicode", pretty_print=True).replace("/>", " />")

    def to_bytes(self) -> bytes:
        """The diagram as UTF-8 bytes with an XML declaration, as written to a .bpmn file.

        Byte for byte what the Camunda Modeler (bpmn-js 17) saves after opening it unchanged.
        """
        return ('<?xml version="1.0" encoding="UTF-8"?>\n' + self.to_xml()).encode("utf-8")

    def _tree(self):
        self.validate()
        participant_box, lane_boxes, boxes = self._layout()
        routes = self._routes(lane_boxes, boxes)
        pid = self.process_id
        collaboration_id, participant_id = f"Collaboration_{pid}", f"Participant_{pid}"

        root = etree.Element(_q("bpmn", "definitions"), nsmap=NS)
        root.set("id", f"Definitions_{pid}")
        root.set("targetNamespace", self.target_namespace)
        root.set("exporter", EXPORTER)
        root.set("exporterVersion", EXPORTER_VERSION)
        root.set(_q("modeler", "executionPlatform"), "Camunda Platform")
        root.set(_q("modeler", "executionPlatformVersion"), EXECUTION_PLATFORM_VERSION)

        collaboration = _sub(root, "bpmn", "collaboration", id=collaboration_id)
        _sub(collaboration, "bpmn", "participant", id=participant_id, name=self.participant_name,
             processRef=pid)

        process = _sub(root, "bpmn", "process", id=pid, name=self.name, isExecutable="true")
        if self.documentation:
            _sub(process, "bpmn", "documentation").text = self.documentation
        lane_set = _sub(process, "bpmn", "laneSet", id=f"LaneSet_{pid}")
        for lane in self._lanes:
            lane_el = _sub(lane_set, "bpmn", "lane", id=lane.id, name=lane.name)
            for n in self._nodes:
                if (n.lane if n.kind != "boundaryEvent" else self._host(n).lane) == lane.id:
                    _sub(lane_el, "bpmn", "flowNodeRef").text = n.id

        for n in self._nodes:
            self._node_xml(process, n)
        for f in self._flows:
            attrs = {"id": f.id}
            if f.name:
                attrs["name"] = f.name
            attrs.update(sourceRef=f.source, targetRef=f.target)
            flow_el = _sub(process, "bpmn", "sequenceFlow", **attrs)
            if f.condition is not None:
                cond = _sub(flow_el, "bpmn", "conditionExpression")
                cond.set(_q("xsi", "type"), "bpmn:tFormalExpression")
                cond.text = f.condition

        diagram = _sub(root, "bpmndi", "BPMNDiagram", id=f"BPMNDiagram_{pid}")
        plane = _sub(diagram, "bpmndi", "BPMNPlane", id=f"BPMNPlane_{pid}", bpmnElement=collaboration_id)
        # Shapes in the order bpmn-js saves them (lanes and boundary events last to first), so that
        # opening and saving in the Camunda Modeler changes nothing.
        _shape(plane, participant_id, participant_box, isHorizontal="true")
        for lane in reversed(self._lanes):
            _shape(plane, lane.id, lane_boxes[lane.id], isHorizontal="true")
        shapes, labels = list(boxes.values()), []
        for n in self._nodes:
            if n.kind != "boundaryEvent":
                extra = {"isMarkerVisible": "true"} if n.kind == "exclusiveGateway" else {}
                label = None
                if n.shape == "gateway" and n.name:
                    label = _place(_gateway_labels(boxes[n.id], n.name), shapes, labels)
                _shape(plane, n.id, boxes[n.id], label, **extra)
        for n in reversed(self._nodes):
            if n.kind == "boundaryEvent":
                label = None
                if n.name:
                    host = boxes[n.attrs["attached_to"]]
                    label = _place(_boundary_labels(boxes[n.id], host, n.name), shapes, labels)
                _shape(plane, n.id, boxes[n.id], label)
        for f in self._flows:
            edge = _sub(plane, "bpmndi", "BPMNEdge", id=f"{f.id}_di", bpmnElement=f.id)
            for x, y in routes[f.id]:
                _sub(edge, "di", "waypoint", x=_num(x), y=_num(y))
            if f.name:
                clearance = SIZES["event"][1] / 2 if self._boundaries(f.source) else 0
                label = _place(_flow_labels(routes[f.id], f.name, clearance), shapes, labels)
                _label(edge, label)
        _check_generated_ids(root)
        return etree.ElementTree(root)

    def _host(self, boundary: _Node) -> _Node:
        return next(n for n in self._nodes if n.id == boundary.attrs["attached_to"])

    def _node_xml(self, process, n: _Node) -> None:
        a = n.attrs
        attrs: dict[str, str] = {"id": n.id}
        if n.name:
            attrs["name"] = n.name
        if n.kind == "userTask":
            if a["candidate_groups"]:
                attrs[_q("camunda", "candidateGroups")] = ",".join(a["candidate_groups"])
            if a["candidate_users"]:
                attrs[_q("camunda", "candidateUsers")] = ",".join(a["candidate_users"])
            if a["assignee"]:
                attrs[_q("camunda", "assignee")] = a["assignee"]
            if a["form_key"]:
                attrs[_q("camunda", "formKey")] = a["form_key"]
        elif n.kind == "scriptTask":
            attrs["scriptFormat"] = "python"
        elif n.kind in {"exclusiveGateway", "inclusiveGateway"} and a.get("default"):
            attrs["default"] = a["default"]
        elif n.kind == "boundaryEvent":
            if not a["interrupting"]:
                attrs["cancelActivity"] = "false"
            attrs["attachedToRef"] = a["attached_to"]
        el = _sub(process, "bpmn", n.kind, **attrs)

        if n.documentation:
            _sub(el, "bpmn", "documentation").text = n.documentation
        form = a.get("form") or []
        if n.properties or form:
            ext = _sub(el, "bpmn", "extensionElements")
            if n.properties:
                props = _sub(ext, "camunda", "properties")
                for key, value in n.properties.items():
                    _sub(props, "camunda", "property", name=key, value=str(value))
            if form:
                form_el = _sub(ext, "camunda", "formData")
                for fld in form:
                    _field_xml(form_el, fld)
        for f in self._flows:
            if f.target == n.id:
                _sub(el, "bpmn", "incoming").text = f.id
        for f in self._flows:
            if f.source == n.id:
                _sub(el, "bpmn", "outgoing").text = f.id
        if a.get("multi_instance") is not None:   # tActivity: loopCharacteristics after outgoing
            _multi_instance_xml(el, a["multi_instance"])
        if n.kind == "scriptTask":
            _sub(el, "bpmn", "script").text = a["script"]
        elif n.kind == "endEvent" and a.get("terminate"):
            _sub(el, "bpmn", "terminateEventDefinition", id=f"{n.id}_terminate")
        elif "timer" in a:
            tag, text = a["timer"]
            timer = _sub(el, "bpmn", "timerEventDefinition", id=f"{n.id}_timer")
            body = _sub(timer, "bpmn", tag)
            body.set(_q("xsi", "type"), "bpmn:tFormalExpression")
            body.text = text


def write(diagram: Diagram, path) -> Path:
    """Write ``diagram`` to ``path`` as UTF-8 with an XML declaration, indented."""
    path = Path(path)
    path.write_bytes(diagram.to_bytes())
    return path


# --------------------------------------------------------------------------- helpers


def _as_list(value: str | Iterable[str] | None) -> list[str]:
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    return [v.strip() for v in items if v and v.strip()]


def _timer(id: str, time_date: str | None, time_duration: str | None) -> tuple[str, str]:
    given = [(tag, text) for tag, text in (("timeDate", time_date), ("timeDuration", time_duration))
             if text is not None]
    if len(given) != 1 or not given[0][1].strip():
        raise ValueError(f"timer {id!r} needs exactly one non-empty time_date or time_duration")
    return given[0][0], given[0][1].strip()


VARIABLE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")   # a case-data name scripts may read


def _check_multi_instance(n: _Node) -> None:
    mi = n.attrs.get("multi_instance")
    if mi is None:
        return
    for what, name in (("collection", mi.collection), ("element_variable", mi.element_variable)):
        if not isinstance(name, str) or not VARIABLE.match(name) or keyword.iskeyword(name):
            raise ValueError(f"user task {n.id!r}: multi-instance {what} {name!r} is not a case-data "
                             f"variable name (a letter, then letters, digits, _)")
    if mi.collection == mi.element_variable:
        raise ValueError(f"user task {n.id!r}: multi-instance collection and element_variable are both "
                         f"{mi.collection!r}")
    if any(fld.id == mi.element_variable for fld in n.attrs["form"]):
        raise ValueError(f"user task {n.id!r}: form field {mi.element_variable!r} would overwrite the "
                         f"multi-instance element variable")


def _multi_instance_xml(el, mi: MultiInstance) -> None:
    attrs = {"isSequential": "true"} if mi.sequential else {}
    attrs[_q("camunda", "collection")] = mi.collection
    attrs[_q("camunda", "elementVariable")] = mi.element_variable
    _sub(el, "bpmn", "multiInstanceLoopCharacteristics", **attrs)


def _sub(parent, prefix: str, tag: str, **attrs):
    el = etree.SubElement(parent, _q(prefix, tag))
    for key, value in attrs.items():
        el.set(key, value)
    return el


def _shape(plane, element_id: str, box: Box, label: Box | None = None, **extra) -> None:
    shape = _sub(plane, "bpmndi", "BPMNShape", id=f"{element_id}_di", bpmnElement=element_id, **extra)
    _sub(shape, "dc", "Bounds", x=_num(box.x), y=_num(box.y), width=_num(box.w), height=_num(box.h))
    if label is not None:
        _label(shape, label)


def _label(parent, box: Box) -> None:
    label = _sub(parent, "bpmndi", "BPMNLabel")
    _sub(label, "dc", "Bounds", x=_num(box.x), y=_num(box.y), width=_num(box.w), height=_num(box.h))


LINE_H = 14


LABEL_WRAP = 90   # bpmn-js lays external label text out from the label's top-left, wrapping at 90px


def _text_size(text: str) -> tuple[int, int]:
    """Rough size of a label in bpmn-js's 11px font: CJK characters ~11px, others ~6.5px."""
    width = sum(11 if ord(c) >= 0x2E80 else 6.5 for c in text) + 4
    lines = max(1, -int(-width // LABEL_WRAP))
    return int(min(width, LABEL_WRAP) + 0.5), lines * LINE_H


def _place(candidates: list[Box], shapes: list[Box], labels: list[Box]) -> Box:
    """The first candidate clear of shapes and labels, else of shapes, else the first; noted in labels."""
    for obstacles in (shapes + labels, shapes):
        for box in candidates:
            if not any(box.overlaps(o) for o in obstacles):
                labels.append(box)
                return box
    labels.append(candidates[0])
    return candidates[0]


def _gateway_labels(box: Box, text: str) -> list[Box]:
    """Above the gateway left of its top corner (clear of its exits), else above right, else below."""
    w, h = _text_size(text)
    return [Box(box.cx - 6 - w, box.y - 4 - h, w, h), Box(box.cx + 6, box.y - 4 - h, w, h),
            Box(box.cx + 6, box.bottom + 4, w, h)]


def _boundary_labels(box: Box, host: Box, text: str) -> list[Box]:
    """Beside the event below the task, away from the task's middle (its bottom exit), else below."""
    w, h = _text_size(text)
    right, left = Box(box.right + 3, box.cy + 2, w, h), Box(box.x - 3 - w, box.cy + 2, w, h)
    below = Box(box.right - 6 if box.cx >= host.cx else box.x + 6 - w, box.bottom + 3, w, h)
    return [right, left, below] if box.cx >= host.cx else [left, right, below]


def _flow_labels(points: list[Point], text: str, clearance: float = 0) -> list[Box]:
    """Next to the first segment, just after the source: above it if horizontal, right of it if vertical.

    ``clearance`` moves the label of a flow leaving downwards further down (past boundary events).
    Later candidates sit further along the route or higher up, for labels too long for the gap.
    """
    w, h = _text_size(text)
    (x0, y0), (x1, y1) = points[0], points[1]
    if y0 == y1:
        x = x0 + 6 if x1 > x0 else x0 - 6 - w
        out = [Box(x, y0 - 3 - h, w, h), Box(x, y0 + 3, w, h)]
        out += [Box(x, y0 - 3 - h - k, w, h) for k in (10, 20, 30, 40, 50)]
    else:
        y = y0 + 4 + clearance if y1 > y0 else y0 - 4 - h
        out = [Box(x0 + 5, y, w, h), Box(x0 - 5 - w, y, w, h)]
    for (xa, ya), (xb, yb) in zip(points, points[1:]):   # then beside any segment's middle
        mx, my = (xa + xb) / 2, (ya + yb) / 2
        if ya == yb:
            out += [Box(mx - w / 2, my - 3 - h, w, h), Box(mx - w / 2, my + 3, w, h)]
        else:
            out += [Box(mx + 5, my - h / 2, w, h), Box(mx - 5 - w, my - h / 2, w, h)]
    return out


def _field_xml(form_el, fld: Field) -> None:
    attrs = {"id": fld.id, "label": fld.label, "type": fld.type}
    if fld.default is not None:
        attrs["defaultValue"] = str(fld.default)
    el = _sub(form_el, "camunda", "formField", **attrs)
    if fld.properties:   # camunda-bpmn-moddle order: properties, validation, values
        props = _sub(el, "camunda", "properties")
        for key, value in fld.properties.items():
            _sub(props, "camunda", "property", id=key, value=str(value))
    constraints = fld.constraints()
    if constraints:
        validation = _sub(el, "camunda", "validation")
        for name, config in constraints:
            c = _sub(validation, "camunda", "constraint", name=name)
            if config is not None:
                c.set("config", config)
    for value_id, value_name in fld.values:
        _sub(el, "camunda", "value", id=value_id, name=value_name)


H_TRACKS = (0, 6, -6)     # horizontal channel tracks (pixels from the channel; never into a shape)
V_TRACKS = (0, -8, 8)


def _separate(routes: dict[str, list[Point]], verticals: set[float], horizontals: set[float],
              clear) -> dict[str, list[Point]]:
    """Move edges that share a stretch of a channel onto parallel tracks, widest stretch outermost.

    Only inner segments (never the first or last, which touch the shapes) that lie on a channel
    move; a route that would then cross a shape or degenerate keeps its original points.
    """
    segments = []   # (orientation, channel, lo, hi, flow id, segment index)
    for flow_id, pts in routes.items():
        for i in range(1, len(pts) - 2):
            a, b = pts[i], pts[i + 1]
            if a[1] == b[1] and a[1] in horizontals:
                segments.append(("h", a[1], min(a[0], b[0]), max(a[0], b[0]), flow_id, i))
            elif a[0] == b[0] and a[0] in verticals:
                segments.append(("v", a[0], min(a[1], b[1]), max(a[1], b[1]), flow_id, i))
    taken: dict[tuple[str, float, int], list[tuple[float, float]]] = {}
    moves: dict[str, list[tuple[str, int, float]]] = {}
    for kind, channel, lo, hi, flow_id, i in sorted(segments, key=lambda s: (s[0], s[1], s[2] - s[3], s[4])):
        tracks = H_TRACKS if kind == "h" else V_TRACKS
        for t in range(len(tracks)):
            spans = taken.setdefault((kind, channel, t), [])
            if all(hi <= a or lo >= b for a, b in spans) or t == len(tracks) - 1:
                spans.append((lo, hi))
                if tracks[t]:
                    moves.setdefault(flow_id, []).append((kind, i, tracks[t]))
                break
    out = dict(routes)
    for flow_id, shifts in moves.items():
        pts = [list(p) for p in routes[flow_id]]
        for kind, i, delta in shifts:
            axis = 1 if kind == "h" else 0
            pts[i][axis] += delta
            pts[i + 1][axis] += delta
        moved = _simplify([(x, y) for x, y in pts])
        if moved and moved[0] == routes[flow_id][0] and moved[-1] == routes[flow_id][-1] and clear(moved):
            out[flow_id] = moved
    return out


def _check_generated_ids(root) -> None:
    """Ids the builder derives (``<id>_di``, ``<id>_timer``...) must not clash with given ones."""
    seen: set[str] = set()
    for el in root.iter():
        if not isinstance(el.tag, str) or el.tag.startswith(f"{{{NS['camunda']}}}"):
            continue  # camunda:formField and camunda:value ids are not BPMN ids
        element_id = el.get("id")
        if element_id is None:
            continue
        if element_id in seen:
            raise ValueError(f"duplicate id {element_id!r}: it clashes with an id the builder "
                             f"derives for diagram interchange or event definitions")
        seen.add(element_id)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def _simplify(points: list[Point]) -> list[Point]:
    """Drop repeated and collinear points; return [] for a route that doubles back or is not orthogonal."""
    out: list[Point] = []
    for p in points:
        if out and p == out[-1]:
            continue
        out.append(p)
    for a, b in zip(out, out[1:]):
        if a[0] != b[0] and a[1] != b[1]:
            return []
    changed = True
    while changed:
        changed = False
        for i in range(1, len(out) - 1):
            a, b, c = out[i - 1], out[i], out[i + 1]
            if (a[0] == b[0] == c[0]) or (a[1] == b[1] == c[1]):
                forward = ((b[0] - a[0]) * (c[0] - b[0]) + (b[1] - a[1]) * (c[1] - b[1])) > 0
                if not forward:
                    return []
                del out[i]
                changed = True
                break
    return out if len(out) >= 2 else []
