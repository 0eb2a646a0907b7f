"""A procedure is one package (docs/procedures.md, "Adding a procedure"): each listed in
workflows/__init__.py has every part of the checklist, and nothing outside it names it."""
from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from engine.models import Base
from engine.periods import PeriodSpec
from workflows import PROCEDURES

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = ("__init__.py", "glue.py", "diagram.py", "labels.py")


@pytest.mark.parametrize("process_id", sorted(PROCEDURES))
def test_a_procedure_package_has_every_part_of_the_checklist(process_id):
    folder = ROOT / "workflows" / process_id
    assert folder.is_dir() and all((folder / name).is_file() for name in REQUIRED), sorted(
        p.name for p in folder.iterdir())
    package = PROCEDURES[process_id]
    assert package.__name__ == f"workflows.{process_id}" and package.__doc__
    assert callable(importlib.import_module(f"workflows.{process_id}.diagram").build)
    assert (ROOT / "bpmn" / f"{process_id}.bpmn").is_file()
    assert (ROOT / "docs" / "deadlines" / f"{process_id}.md").is_file()
    assert f"`{process_id}`" in (ROOT / "docs" / "procedures.md").read_text(encoding="utf-8")
    assert isinstance(package.labels.ACTIONS, dict)
    assert package.FUNCTIONS and all(isinstance(spec, PeriodSpec) and spec.article for spec in package.PERIODS.values())


@pytest.mark.parametrize("process_id", sorted(PROCEDURES))
def test_a_package_labels_the_actions_it_audits_itself(process_id):
    folder = ROOT / "workflows" / process_id
    audited = set(re.findall(r'record_audit\([^,]+, [^,]+, [^,]+, "(\w+)"', "".join(
        p.read_text(encoding="utf-8") for p in folder.glob("*.py"))))
    from engine.labels import ACTIONS as ENGINE_ACTIONS
    assert audited - set(PROCEDURES[process_id].labels.ACTIONS) - set(ENGINE_ACTIONS) == set()


@pytest.mark.parametrize("process_id", sorted(PROCEDURES))
def test_a_package_with_records_views_them_and_registers_its_tables(process_id):
    folder = ROOT / "workflows" / process_id
    if not (folder / "records.py").is_file():
        return
    records = importlib.import_module(f"workflows.{process_id}.records")
    tables = {getattr(v, "__tablename__") for v in vars(records).values()
              if isinstance(v, type) and issubclass(v, Base) and v is not Base and hasattr(v, "__tablename__")
              and v.__module__ == records.__name__}
    assert tables and tables <= set(Base.metadata.tables)
    assert (folder / "views.py").is_file() and callable(PROCEDURES[process_id].views.record_views)
    migrations = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "engine" / "migrations").rglob("*.py"))
    assert all(f"create_table('{table}'" in migrations or f'create_table("{table}"' in migrations for table in tables)


def test_nothing_outside_a_package_names_its_process():
    """The engine and the web app find a procedure by capability (``PROVIDES``), never by name."""
    names = "|".join(PROCEDURES)
    pattern = re.compile(rf"""["'=]({names})["'\b]""")
    offenders = []
    for folder in ("engine", "web"):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix not in (".py", ".html") or {"migrations", "demo"} & set(path.parts):
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                code = line.split("#", 1)[0] if path.suffix == ".py" else line
                if pattern.search(code) and '"""' not in code:
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []
