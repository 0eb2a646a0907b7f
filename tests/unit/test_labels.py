"""Every action the engine or a procedure audits has a label (engine/labels.py, a procedure's
labels.ACTIONS), so a timeline never shows a raw action id; every label is in the catalogs."""
from __future__ import annotations

import ast
import gzip
import re
from pathlib import Path

import pytest

from engine.domain.violations import VIOLATION_STEPS
from engine.procedures import action_labels, load_procedures

ROOT = Path(__file__).resolve().parents[2]
RELEASE = ROOT / "tests" / "fixtures" / "release"
LABELS = action_labels(load_procedures("workflows"))

# Actions written through a name computed at run time: the expression -> every value it takes.
# A new computed action fails test_every_computed_action_is_listed until it is added here.
COMPUTED = {
    'f"violation_{step}"': {f"violation_{step}" for step in VIOLATION_STEPS},
    'f"rule_set_{action}d"': {"rule_set_activated", "rule_set_deactivated"},
    "action": {"task_transferred", "task_reassigned"},  # engine/service.py: transfer or reassign
}


def audit_calls() -> list[tuple[str, ast.expr]]:
    """(file, the action argument) of every ``audit.Entry(...)`` and ``record_audit(...)`` call."""
    found = []
    for path in sorted([*ROOT.joinpath("engine").rglob("*.py"), *ROOT.joinpath("workflows").rglob("*.py")]):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "attr", getattr(node.func, "id", None))
            position = {"Entry": 2, "record_audit": 3}.get(name)
            if position is not None and len(node.args) > position:
                found.append((str(path.relative_to(ROOT)), node.args[position]))
    return found


def static_actions() -> set[str]:
    actions = set()
    for _, arg in audit_calls():
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            actions.add(arg.value)
        else:
            actions |= COMPUTED.get(ast.unparse(arg).replace("'", '"'), set())
    return actions


def test_every_computed_action_is_listed():
    computed = {(path, ast.unparse(arg).replace("'", '"')) for path, arg in audit_calls()
                if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str))}
    assert computed and {expr for _, expr in computed} <= set(COMPUTED), computed


def test_every_action_written_in_the_code_has_a_label():
    actions = static_actions()
    assert {"case_started", "grant_created", "objection_received", "violation_referred"} <= actions
    assert sorted(actions - set(LABELS)) == []


@pytest.mark.parametrize("dump", sorted(RELEASE.glob("*.sqlite.sql.gz")), ids=lambda p: p.name)
def test_every_action_in_a_release_database_has_a_label(dump):
    """What a county's database holds (the release fixture: every procedure in every state)."""
    text = gzip.decompress(dump.read_bytes()).decode("utf-8")
    rows = re.findall(r"""INSERT INTO "audit_record" VALUES\(\d+,'[^']*','[^']*',(?:NULL|\d+),(?:NULL|'[^']*'),'(\w+)'""",
                      text)
    assert len(rows) > 100
    assert sorted(set(rows) - set(LABELS)) == []


def test_every_record_kind_a_procedure_views_has_a_label_and_each_label_is_a_message_id():
    """A record view's kind label and every action label are English message ids in the catalog."""
    from babel.messages.pofile import read_po
    with (ROOT / "translations" / "zh" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        chinese = {m.id: m.string for m in read_po(f) if m.id}
    untranslated = sorted(label for label in LABELS.values() if not chinese.get(label))
    assert untranslated == []
    kinds = re.findall(r'RecordView\("(\w+)", N_\("([^"]+)"\)', "".join(
        p.read_text(encoding="utf-8") for p in [*ROOT.joinpath("workflows").rglob("views.py"),
                                                ROOT / "engine" / "domain" / "case_records.py"]))
    assert {k for k, _ in kinds} >= {"share_application", "objection", "inconsistency", "grant", "violation",
                                     "supervision", "catalog"}
    assert sorted(label for _, label in kinds if not chinese.get(label)) == []
