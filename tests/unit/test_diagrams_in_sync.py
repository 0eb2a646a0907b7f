"""The deployed diagrams in bpmn/ are exactly what workflows/<process_id>/diagram.py builds, and each one deploys."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine.definitions import parse_diagram
from engine.procedures import load_procedures
from tools.build_diagrams import builders

ROOT = Path(__file__).resolve().parents[2]
BUILDERS = builders()


def test_every_procedure_has_a_builder_and_a_diagram():
    assert set(BUILDERS) == set(load_procedures("workflows")) 


@pytest.mark.parametrize("process_id", sorted(BUILDERS))
def test_bpmn_file_matches_its_builder(process_id):
    committed = (ROOT / "bpmn" / f"{process_id}.bpmn").read_bytes()
    assert committed == BUILDERS[process_id]().to_bytes(), \
        f"bpmn/{process_id}.bpmn is stale: run `make diagrams`"


@pytest.mark.parametrize("process_id", sorted(BUILDERS))
def test_diagram_parses_with_only_the_procedures_functions(process_id):
    proc = load_procedures("workflows")[process_id]
    from engine.deadlines import DIAGRAM_FUNCTIONS
    from engine.periods import DIAGRAM_FUNCTIONS as PERIOD_FUNCTIONS
    parsed = parse_diagram((ROOT / "bpmn" / f"{process_id}.bpmn").read_bytes(),
                           set(proc.functions) | set(DIAGRAM_FUNCTIONS) | set(PERIOD_FUNCTIONS))
    assert parsed.process_id == process_id
