"""Write bpmn/<process_id>.bpmn from tools/diagrams/<process_id>.py (each has ``build() -> Diagram``).

Run from the repository root: ``.venv/bin/python -m tools.build_diagrams`` (or ``make diagrams``).
The diagrams in bpmn/ are what gets deployed; tests check they equal what the builders produce.
"""
from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from tools import diagrams
from tools.bpmn_builder import write

ROOT = Path(__file__).resolve().parents[1]


def builders() -> dict[str, object]:
    found = {}
    for info in pkgutil.iter_modules(diagrams.__path__):
        module = importlib.import_module(f"tools.diagrams.{info.name}")
        if hasattr(module, "build"):
            found[info.name] = module.build
    return found


def main() -> None:
    for process_id, build in sorted(builders().items()):
        diagram = build()
        path = write(diagram, ROOT / "bpmn" / f"{process_id}.bpmn")
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
