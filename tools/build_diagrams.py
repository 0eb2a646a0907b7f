"""Write bpmn/<process_id>.bpmn from workflows/<process_id>/diagram.py (each has ``build() -> Diagram``).

Run from the repository root: ``.venv/bin/python -m tools.build_diagrams`` (or ``make diagrams``).
The diagrams in bpmn/ are what gets deployed; tests check they equal what the builders produce.
"""
from __future__ import annotations

import importlib
from pathlib import Path

from tools.bpmn_builder import write

ROOT = Path(__file__).resolve().parents[1]


def builders() -> dict[str, object]:
    """process id -> ``build`` of every procedure package that has a diagram builder."""
    from workflows import PROCEDURES
    found = {}
    for process_id in PROCEDURES:
        try:
            module = importlib.import_module(f"workflows.{process_id}.diagram")
        except ModuleNotFoundError:
            continue
        if hasattr(module, "build"):
            found[process_id] = module.build
    return found


def main() -> None:
    for process_id, build in sorted(builders().items()):
        diagram = build()
        path = write(diagram, ROOT / "bpmn" / f"{process_id}.bpmn")
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
