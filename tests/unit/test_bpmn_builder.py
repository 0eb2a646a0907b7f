"""tools.bpmn_builder: complete diagram interchange, the Camunda 7 dialect, and diagrams that run."""
from __future__ import annotations

import random
import re
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest
import SpiffWorkflow
from lxml import etree
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine.clock import FrozenClock
from engine.definitions import parse_diagram
from engine.spiff.script import GovScriptEngine
from tools.bpmn_builder import Diagram, Field, MultiInstance, write

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "camunda": "http://camunda.org/schema/1.0/bpmn",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}
FLOW_NODES = ("startEvent", "endEvent", "userTask", "scriptTask", "exclusiveGateway",
              "parallelGateway", "inclusiveGateway", "intermediateCatchEvent")
ALLOWED_CALLS = {"workdays", "grant_access"}
XSD = Path(SpiffWorkflow.__file__).parent / "bpmn" / "parser" / "schema" / "BPMN20.xsd"


def sample() -> Diagram:
    """Two lanes; a form task with an overdue timer; a gateway with default, condition and send-back."""
    d = Diagram("share_application", "共享申请")
    d.lane("consumer", "数据使用部门")
    d.lane("provider", "数据提供部门")
    d.start("start", "提交申请", lane="consumer", col=0)
    d.user_task("apply", "填写申请", lane="consumer", col=1, candidate_groups="consumer_clerk",
                form=[Field("purpose", "用途", "string", required=True, minlength=2, maxlength=500)],
                properties={"department": "consumer_department"})
    d.user_task("review", "审核共享申请", lane="provider", col=2, candidate_groups=["provider_clerk"],
                form=[Field("decision", "审核结果", "enum", required=True,
                            values=[("approve", "同意"), ("refuse", "不同意"), ("return", "退回")]),
                      Field("reason", "理由", "string", maxlength=500),
                      Field("days", "天数", "long", min=1, max=10)],
                properties={"department": "provider_department"}, documentation="核对申请并答复")
    d.boundary_timer("review_overdue", "超期", attached_to="review",
                     time_date="workdays(rules.share_reply_days)", kind="overdue", interrupting=False)
    d.script_task("escalate", "超期督办", lane="provider", col=3, row=1, script="escalated = True")
    d.end("end_escalated", None, lane="provider", col=4, row=1)
    d.exclusive_gateway("gw", "是否同意", lane="provider", col=3, default="f_refuse")
    d.script_task("grant", "登记授权", lane="provider", col=4, script="grant_id = grant_access()")
    d.end("granted", "已授权", lane="provider", col=5, properties={"outcome": "granted"})
    d.end("refused", "不予共享", lane="consumer", col=5, terminate=True, properties={"outcome": "refused"})
    d.flow("f1", "start", "apply")
    d.flow("f2", "apply", "review")
    d.flow("f3", "review", "gw")
    d.flow("f_ok", "gw", "grant", "同意", condition='decision == "approve"')
    d.flow("f_back", "gw", "apply", "退回", condition='decision == "return"')
    d.flow("f_refuse", "gw", "refused", "不同意")
    d.flow("f4", "grant", "granted")
    d.flow("f_over", "review_overdue", "escalate")
    d.flow("f_over2", "escalate", "end_escalated")
    return d


@pytest.fixture(scope="module")
def xml() -> str:
    return sample().to_xml()


@pytest.fixture(scope="module")
def root(xml):
    return etree.fromstring(xml)


def xp(node, path: str) -> list:
    return node.xpath(path, namespaces=NS)


def bounds(root) -> dict[str, tuple[float, float, float, float]]:
    out = {}
    for shape in xp(root, "//bpmndi:BPMNShape"):
        (b,) = xp(shape, "dc:Bounds")
        out[shape.get("bpmnElement")] = tuple(float(b.get(k)) for k in ("x", "y", "width", "height"))
    return out


def waypoints(root) -> dict[str, list[tuple[float, float]]]:
    return {edge.get("bpmnElement"): [(float(p.get("x")), float(p.get("y"))) for p in xp(edge, "di:waypoint")]
            for edge in xp(root, "//bpmndi:BPMNEdge")}


def flow_nodes(root) -> list:
    return [n for kind in FLOW_NODES for n in xp(root, f"//bpmn:process/bpmn:{kind}")]


def on_border(point, box, tolerance: float = 0.5) -> bool:
    x, y = point
    bx, by, bw, bh = box
    inside = bx - tolerance <= x <= bx + bw + tolerance and by - tolerance <= y <= by + bh + tolerance
    near_edge = min(abs(x - bx), abs(x - bx - bw), abs(y - by), abs(y - by - bh)) <= tolerance
    return inside and near_edge


def overlap(a, b) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def crosses_interior(p, q, box) -> bool:
    x0, y0, x1, y1 = box[0] + 1, box[1] + 1, box[0] + box[2] - 1, box[1] + box[3] - 1
    if p[1] == q[1]:
        return y0 < p[1] < y1 and min(p[0], q[0]) < x1 and max(p[0], q[0]) > x0
    return x0 < p[0] < x1 and min(p[1], q[1]) < y1 and max(p[1], q[1]) > y0


def check_geometry(root) -> None:
    """The diagram-interchange invariants every builder output must satisfy."""
    shapes = bounds(root)
    edges = waypoints(root)
    nodes = {n.get("id"): n for n in flow_nodes(root)}
    boundaries = {b.get("id"): b.get("attachedToRef") for b in xp(root, "//bpmn:boundaryEvent")}
    for element_id in [*nodes, *boundaries, *[lane.get("id") for lane in xp(root, "//bpmn:lane")],
                       *[p.get("id") for p in xp(root, "//bpmn:participant")]]:
        assert element_id in shapes, f"{element_id} has no BPMNShape"
        assert shapes[element_id][2] > 0 and shapes[element_id][3] > 0
    ids = list(nodes)
    for i, a in enumerate(ids):
        for b in ids[i + 1:]:
            assert not overlap(shapes[a], shapes[b]), f"{a} overlaps {b}"
    for boundary, host in boundaries.items():
        bx, by, bw, bh = shapes[boundary]
        hx, hy, hw, hh = shapes[host]
        assert by + bh / 2 == hy + hh, f"{boundary} is not centred on the bottom edge of {host}"
        assert hx - bw / 2 <= bx + bw / 2 <= hx + hw + bw / 2
        for other in [*ids, *boundaries]:
            if other not in (boundary, host):
                assert not overlap(shapes[boundary], shapes[other]), f"{boundary} overlaps {other}"
    for label in xp(root, "//bpmndi:BPMNLabel/dc:Bounds"):
        box = tuple(float(label.get(k)) for k in ("x", "y", "width", "height"))
        owner = label.getparent().getparent().get("bpmnElement")
        for element_id in [*ids, *boundaries]:
            assert not overlap(box, shapes[element_id]), f"the label of {owner} covers {element_id}"
    for flow in xp(root, "//bpmn:sequenceFlow"):
        points = edges.get(flow.get("id"))
        assert points and len(points) >= 2, f"{flow.get('id')} has no edge with 2+ waypoints"
        assert on_border(points[0], shapes[flow.get("sourceRef")]), f"{flow.get('id')} does not leave its source"
        assert on_border(points[-1], shapes[flow.get("targetRef")]), f"{flow.get('id')} does not reach its target"
        if flow.get("sourceRef") in boundaries:
            x, y, w, h = shapes[flow.get("sourceRef")]
            assert points[0] == (x + w / 2, y + h), f"{flow.get('id')} does not leave its boundary event's bottom"
        for p, q in zip(points, points[1:]):
            assert p != q, f"{flow.get('id')} has a zero-length segment"
            assert p[0] == q[0] or p[1] == q[1], f"{flow.get('id')} has a diagonal segment"
            for element_id, box in shapes.items():
                if element_id in nodes or element_id in boundaries:
                    assert not crosses_interior(p, q, box), f"{flow.get('id')} runs through {element_id}"


# --------------------------------------------------------------------------- the document


def test_camunda_modeler_document(root):
    assert root.tag == f"{{{NS['bpmn']}}}definitions"
    assert {root.nsmap[p] for p in ("bpmn", "bpmndi", "dc", "di", "camunda", "xsi")} == \
        {NS[p] for p in ("bpmn", "bpmndi", "dc", "di", "camunda", "xsi")}
    assert root.get("targetNamespace") and root.get("exporter") == "govflow bpmn_builder"
    (participant,) = xp(root, "/bpmn:definitions/bpmn:collaboration/bpmn:participant")
    (process,) = xp(root, "/bpmn:definitions/bpmn:process")
    assert participant.get("processRef") == process.get("id") == "share_application"
    assert process.get("isExecutable") == "true" and process.get("name") == "共享申请"
    (plane,) = xp(root, "//bpmndi:BPMNDiagram/bpmndi:BPMNPlane")
    assert plane.get("bpmnElement") == xp(root, "//bpmn:collaboration")[0].get("id")
    assert [lane.get("id") for lane in xp(process, "bpmn:laneSet/bpmn:lane")] == ["consumer", "provider"]


def test_valid_against_the_bpmn_schema(xml):
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    doc = etree.fromstring(xml.encode())
    assert schema.validate(doc), schema.error_log


def test_geometry_invariants(root):
    check_geometry(root)


def test_lanes_are_stacked_swimlanes_inside_the_participant(root):
    shapes = bounds(root)
    px, py, pw, ph = shapes["Participant_share_application"]
    consumer, provider = shapes["consumer"], shapes["provider"]
    assert (px, py) == (120, consumer[1]) and consumer[0] == provider[0] == px + 30
    assert consumer[1] + consumer[3] == provider[1] and provider[1] + provider[3] == py + ph
    assert consumer[0] + consumer[2] == px + pw == provider[0] + provider[2]
    assert provider[3] == 2 * consumer[3]  # the provider lane uses a second row
    for shape in xp(root, "//bpmndi:BPMNShape[@bpmnElement='consumer' or @bpmnElement='provider']"):
        assert shape.get("isHorizontal") == "true"
    for n in flow_nodes(root):
        lane = xp(root, f"//bpmn:lane[bpmn:flowNodeRef='{n.get('id')}']")[0].get("id")
        x, y, w, h = shapes[n.get("id")]
        lx, ly, lw, lh = shapes[lane]
        assert lx <= x and x + w <= lx + lw and ly <= y and y + h <= ly + lh, n.get("id")


def test_left_to_right_and_backward_flows_run_below(root):
    edges, shapes = waypoints(root), bounds(root)
    assert edges["f1"] == [(258, 170), (370, 170)]  # same row: one straight segment
    back = edges["f_back"]
    gw = shapes["gw"]
    assert back[0] == (gw[0] + gw[2] / 2, gw[1] + gw[3])  # leaves the gateway at the bottom
    assert max(y for _, y in back) > gw[1] + gw[3]


def test_lanes_reference_every_flow_node_exactly_once(root):
    refs = [r.text for r in xp(root, "//bpmn:laneSet/bpmn:lane/bpmn:flowNodeRef")]
    expected = [n.get("id") for n in flow_nodes(root)] + [b.get("id") for b in xp(root, "//bpmn:boundaryEvent")]
    assert sorted(refs) == sorted(expected) and len(refs) == len(set(refs))


def test_incoming_and_outgoing_children(root):
    flows = xp(root, "//bpmn:sequenceFlow")
    for node in [*flow_nodes(root), *xp(root, "//bpmn:boundaryEvent")]:
        node_id = node.get("id")
        incoming = [f.get("id") for f in flows if f.get("targetRef") == node_id]
        outgoing = [f.get("id") for f in flows if f.get("sourceRef") == node_id]
        assert [e.text for e in xp(node, "bpmn:incoming")] == incoming
        assert [e.text for e in xp(node, "bpmn:outgoing")] == outgoing


def test_camunda_extensions(root):
    (review,) = xp(root, "//bpmn:userTask[@id='review']")
    assert review.get(f"{{{NS['camunda']}}}candidateGroups") == "provider_clerk"
    (decision,) = xp(review, ".//camunda:formField[@id='decision']")
    assert [v.get("id") for v in xp(decision, "camunda:value")] == ["approve", "refuse", "return"]
    (gw,) = xp(root, "//bpmn:exclusiveGateway")
    assert gw.get("default") == "f_refuse"
    (cond,) = xp(root, "//bpmn:sequenceFlow[@id='f_ok']/bpmn:conditionExpression")
    assert cond.get(f"{{{NS['xsi']}}}type") == "bpmn:tFormalExpression"
    (boundary,) = xp(root, "//bpmn:boundaryEvent")
    assert boundary.get("cancelActivity") == "false" and boundary.get("attachedToRef") == "review"
    (time_date,) = xp(boundary, "bpmn:timerEventDefinition/bpmn:timeDate")
    assert time_date.text == "workdays(rules.share_reply_days)"
    assert xp(root, "//bpmn:endEvent[@id='refused']/bpmn:terminateEventDefinition")


def test_write(tmp_path):
    path = write(sample(), tmp_path / "share_application.bpmn")
    raw = path.read_bytes()
    assert raw.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n')
    assert "审核共享申请".encode("utf-8") in raw
    assert b"\n  <bpmn:process" in raw  # indented
    assert etree.fromstring(raw).get("exporter") == "govflow bpmn_builder"


# --------------------------------------------------------------------------- the engine


def test_parse_diagram_accepts_the_output(xml):
    parsed = parse_diagram(xml, ALLOWED_CALLS)
    assert parsed.process_id == "share_application" and parsed.name == "共享申请"
    specs = parsed.bundle.spec.task_specs
    review = specs["review"].extensions
    assert review["candidate_groups"] == ["provider_clerk"]
    assert review["properties"] == {"department": "provider_department"}
    form = {f["id"]: f for f in review["form"]}
    assert list(form) == ["decision", "reason", "days"]
    assert [o["id"] for o in form["decision"]["options"]] == ["approve", "refuse", "return"]
    assert form["decision"]["validation"] == {"required": None}
    assert form["reason"]["validation"] == {"maxlength": "500"}
    assert form["days"]["validation"] == {"min": "1", "max": "10"} and form["days"]["type"] == "long"
    assert specs["apply"].extensions["form"][0]["validation"] == \
        {"required": None, "minlength": "2", "maxlength": "500"}
    assert specs["review_overdue"].extensions["properties"] == {"deadline": "overdue"}
    assert specs["granted"].extensions["properties"] == {"outcome": "granted"}
    assert specs["review"].lane == "数据提供部门"


def new_workflow(xml: str, clock) -> BpmnWorkflow:
    spec = parse_diagram(xml, ALLOWED_CALLS).bundle.spec
    functions = {"workdays": lambda n: "2026-03-20T00:00:00+08:00", "grant_access": lambda: "g-1",
                 "rules": SimpleNamespace(share_reply_days=15)}
    workflow = BpmnWorkflow(spec, script_engine=GovScriptEngine(clock, functions))
    workflow.do_engine_steps()
    return workflow


def ready(workflow) -> list[str]:
    return [t.task_spec.name for t in workflow.get_tasks(state=TaskState.READY, manual=True)]


def complete(workflow, name: str, **data) -> None:
    (task,) = [t for t in workflow.get_tasks(state=TaskState.READY, manual=True) if t.task_spec.name == name]
    task.set_data(**data)
    task.run()
    workflow.do_engine_steps()


def test_the_output_runs(xml):
    clock = FrozenClock(datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc))
    workflow = new_workflow(xml, clock)
    assert ready(workflow) == ["apply"]
    complete(workflow, "apply", purpose="统计分析")
    assert ready(workflow) == ["review"]
    complete(workflow, "review", decision="return")  # the send-back loop
    assert ready(workflow) == ["apply"]
    complete(workflow, "apply", purpose="统计分析")
    assert [t.task_spec.name for t in workflow.get_tasks(state=TaskState.WAITING)] == ["review_overdue"]
    clock.advance(days=30)  # past the deadline: the non-interrupting overdue timer fires
    workflow.refresh_waiting_tasks()
    workflow.do_engine_steps()
    assert ready(workflow) == ["review"]  # still open: the timer does not cancel the task
    done = [t.task_spec.name for t in workflow.get_tasks(state=TaskState.COMPLETED)]
    assert "escalate" in done and "end_escalated" in done
    complete(workflow, "review", decision="approve")
    assert workflow.is_completed()
    assert workflow.data["grant_id"] == "g-1" and workflow.data["escalated"] is True


def test_the_default_flow_reaches_the_terminate_end(xml):
    workflow = new_workflow(xml, FrozenClock(datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)))
    complete(workflow, "apply", purpose="统计分析")
    complete(workflow, "review", decision="refuse")
    assert workflow.is_completed()
    done = [t.task_spec.name for t in workflow.get_tasks(state=TaskState.COMPLETED)]
    assert "refused" in done and "grant" not in done


# --------------------------------------------------------------------------- invalid specifications


def minimal() -> Diagram:
    d = Diagram("p", "流程")
    d.lane("a", "甲")
    d.start("start", "开始", lane="a", col=0)
    d.user_task("work", "办理", lane="a", col=1, candidate_groups="clerk")
    d.exclusive_gateway("gw", "通过?", lane="a", col=2, default="f_done")
    d.end("end", "结束", lane="a", col=3)
    d.flow("f1", "start", "work")
    d.flow("f2", "work", "gw")
    d.flow("f_done", "gw", "end")
    d.flow("f_again", "gw", "work", condition="again")
    return d


def test_minimal_is_valid():
    check_geometry(etree.fromstring(minimal().to_xml()))


@pytest.mark.parametrize("change, message", [
    (lambda d: d.end("work", "重复", lane="a", col=4), "duplicate id 'work'"),
    (lambda d: d.flow("f2", "start", "end"), "duplicate id 'f2'"),
    (lambda d: d.flow("f9", "gw", "nowhere"), "target 'nowhere' is not a flow node"),
    (lambda d: d.flow("f9", "ghost", "end"), "source 'ghost' is not a flow node"),
    (lambda d: d.exclusive_gateway("gw2", lane="a", col=5, default="f1") and d.flow("f9", "gw2", "end"),
     "gateway 'gw2': default 'f1' is not one of its outgoing flows (f9)"),
    (lambda d: d.exclusive_gateway("gw2", lane="a", col=5, default="f9")
     and d.flow("f9", "gw2", "end", condition="again"), "default flow 'f9' must not have a condition"),
    (lambda d: d.end("end2", None, lane="a", col=3), "'end2' and 'end' both sit in lane 'a' row 0 col 3"),
    (lambda d: d.end("end2", None, lane="b", col=4), "undeclared lane 'b'"),
    (lambda d: d.boundary_timer("t", attached_to="gw", time_duration="P1D"), "must be attached to a task"),
    (lambda d: d.boundary_timer("t", attached_to="nope", time_duration="P1D"), "unknown node 'nope'"),
    (lambda d: d.user_task("w2", "无人", lane="a", col=5), "names no candidate_groups"),
    (lambda d: d.flow("f9", "end", "work"), "leaves the end event"),
    (lambda d: d.flow("f9", "work", "end"), "has 2 outgoing flows"),
    (lambda d: d.lane("b", "乙") and d.end("1bad", None, lane="b", col=0), "not a valid XML id"),
    (lambda d: d.end("work_di", None, lane="a", col=6), "clashes with an id the builder derives"),
])
def test_invalid_specs_raise(change, message):
    d = minimal()
    change(d)
    with pytest.raises(ValueError, match=re.escape(message)):
        d.to_xml()


def test_argument_errors_raise_at_once():
    d = minimal()
    with pytest.raises(ValueError, match="row must be"):
        d.end("e", lane="a", col=1, row=6)
    with pytest.raises(ValueError, match="exactly one"):
        d.intermediate_timer("t", lane="a", col=9, time_date="P1D", time_duration="P1D")
    with pytest.raises(ValueError, match="kind must be"):
        d.boundary_timer("t", attached_to="work", time_duration="P1D", kind="late")


# --------------------------------------------------------------------------- random layouts


@pytest.mark.parametrize("seed", range(40))
def test_random_diagrams_keep_the_invariants(seed):
    """Random grids with forward, backward, cross-lane and boundary flows never break the geometry."""
    rnd = random.Random(seed)
    d = Diagram(f"r{seed}", "随机")
    lanes = [d.lane(f"lane{i}", f"泳道{i}") for i in range(rnd.randint(1, 3))]
    cells = rnd.sample([(lane, row, col) for lane in lanes for row in range(3) for col in range(7)],
                       rnd.randint(4, 14))
    kinds = ["user", "script", "xgw", "pgw", "timer", "end"]
    names = [None, "是", "是否同意", "超期督办并通知申请人", "returned to the applicant"]
    ids = []
    for i, (lane, row, col) in enumerate(cells):
        node_id, kind = f"n{i}", ("start" if i == 0 else rnd.choice(kinds))
        if kind == "start":
            d.start(node_id, lane=lane, col=col, row=row)
        elif kind == "user":
            d.user_task(node_id, "任务", lane=lane, col=col, row=row, candidate_groups="g")
            for k in range(rnd.randint(0, 2)):
                d.boundary_timer(f"{node_id}_b{k}", rnd.choice(names), attached_to=node_id,
                                 time_duration="P1D")
                ids.append((f"{node_id}_b{k}", "boundary"))
        elif kind == "script":
            d.script_task(node_id, "脚本", lane=lane, col=col, row=row, script="x = 1")
        elif kind == "xgw":
            d.exclusive_gateway(node_id, rnd.choice(names), lane=lane, col=col, row=row)
        elif kind == "pgw":
            d.parallel_gateway(node_id, rnd.choice(names), lane=lane, col=col, row=row)
        elif kind == "timer":
            d.intermediate_timer(node_id, lane=lane, col=col, row=row, time_duration="P1D")
        else:
            d.end(node_id, lane=lane, col=col, row=row)
        ids.append((node_id, kind))
    targets = [i for i, k in ids if k not in {"start", "boundary"}]
    n = 0
    for node_id, kind in ids:
        if kind == "end" or not targets:
            continue
        for target in rnd.sample(targets, min(len(targets), 3 if kind in {"xgw", "pgw"} else 1)):
            d.flow(f"f{n}", node_id, target, rnd.choice(names))
            n += 1
    check_geometry(etree.fromstring(d.to_xml()))


# --------------------------------------------------------------------------- multi-instance user tasks


def multi_instance(sequential: bool = False) -> Diagram:
    """Each department states a position, in parallel (or one after another), under one deadline."""
    d = Diagram("positions", "陈述意见")
    d.lane("provider", "数据提供部门")
    d.start("start", "开始", lane="provider", col=0)
    d.user_task("state", "陈述本部门意见", lane="provider", col=1, candidate_groups="provider_clerk",
                properties={"department": "department"},
                form=[Field("position", "意见", "textarea", required=True)],
                multi_instance=MultiInstance("departments", "department", sequential=sequential))
    d.boundary_timer("state_overdue", "期满", attached_to="state", time_date="workdays(10)",
                     kind="overdue", interrupting=True)
    d.end("done", "结束", lane="provider", col=2)
    d.end("late", "期满", lane="provider", col=2, row=1)
    d.flow("f1", "start", "state")
    d.flow("f2", "state", "done")
    d.flow("f3", "state_overdue", "late")
    return d


def test_multi_instance_is_written_as_the_camunda_modeler_does():
    root = etree.fromstring(multi_instance().to_xml())
    (task,) = xp(root, "//bpmn:userTask[@id='state']")
    (loop,) = xp(task, "bpmn:multiInstanceLoopCharacteristics")
    assert dict(loop.attrib) == {f"{{{NS['camunda']}}}collection": "departments",
                                 f"{{{NS['camunda']}}}elementVariable": "department"}
    assert [etree.QName(c).localname for c in task][-3:] == ["incoming", "outgoing",
                                                            "multiInstanceLoopCharacteristics"]
    assert 'isSequential="true"' in multi_instance(sequential=True).to_xml()
    assert "multiInstanceLoopCharacteristics" not in sample().to_xml()  # nothing changes without it
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    assert schema.validate(root), schema.error_log
    check_geometry(root)


@pytest.mark.parametrize("sequential", [False, True])
def test_multi_instance_parses_to_one_task_per_item(sequential):
    specs = parse_diagram(multi_instance(sequential).to_xml(), ALLOWED_CALLS).bundle.spec.task_specs
    loop, child = specs["state"], specs["state [child]"]
    assert type(loop).__name__.endswith(("Sequential" if sequential else "Parallel") + "MultiInstanceTask")
    assert (loop.data_output.bpmn_id, loop.output_item.bpmn_id) == ("departments", "department")
    assert loop.task_spec == "state [child]" and child.manual and child.bpmn_id == "state"
    assert child.extensions["properties"] == {"department": "department"}
    assert child.extensions["candidate_groups"] == ["provider_clerk"]


def test_each_instance_holds_its_element_variable():
    spec = parse_diagram(multi_instance().to_xml(), ALLOWED_CALLS).bundle.spec
    clock = FrozenClock(datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc))
    workflow = BpmnWorkflow(spec, script_engine=GovScriptEngine(clock, {"workdays": lambda n: "2026-03-16T00:00:00+08:00"}))
    workflow.get_tasks(state=TaskState.READY)[0].data["departments"] = ["340822101", "340822103"]
    workflow.do_engine_steps()
    instances = workflow.get_tasks(state=TaskState.READY, manual=True)
    assert [t.data["department"] for t in instances] == ["340822101", "340822103"]
    for task in instances:
        task.set_data(position=f"{task.data['department']} 正确")
        task.run()
    workflow.do_engine_steps()
    assert workflow.is_completed() and workflow.data["departments"] == ["340822101", "340822103"]
    assert "department" not in workflow.data and "position" not in workflow.data  # only items come back


@pytest.mark.parametrize("mi, form, message", [
    (MultiInstance("departments", "1dept"), [], "element_variable '1dept' is not a case-data variable"),
    (MultiInstance("${departments}", "department"), [], "collection '${departments}' is not"),
    (MultiInstance("_private", "department"), [], "collection '_private' is not"),
    (MultiInstance("items", "items"), [], "collection and element_variable are both 'items'"),
    (MultiInstance("departments", "department"), [Field("department", "部门")],
     "form field 'department' would overwrite the multi-instance element variable"),
])
def test_invalid_multi_instance_raises(mi, form, message):
    d = minimal()
    d.user_task("each", "逐个办理", lane="a", col=5, candidate_groups="clerk", form=form, multi_instance=mi)
    d.flow("f9", "each", "end")
    with pytest.raises(ValueError, match=re.escape(message)):
        d.to_xml()


def test_multi_instance_must_be_a_multi_instance():
    with pytest.raises(ValueError, match="multi_instance must be a MultiInstance"):
        minimal().user_task("each", lane="a", col=5, candidate_groups="clerk", multi_instance="departments")
