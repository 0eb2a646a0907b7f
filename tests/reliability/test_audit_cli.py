"""`govflow audit verify` (the CLI, a subprocess): intact chain exits 0; a row altered in the
database makes it exit non-zero and name the record (the engine function: tests/integration/test_cases.py)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
import sqlalchemy as sa

from engine.models import AuditRecord
from tests.e2e.conftest import open_task, start_case, actor
from tests.reliability.conftest import REPO


def verify(url: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from engine.cli import main; main()", "audit", "verify"],
                          cwd=REPO, env=dict(os.environ, GOVFLOW_DATABASE_URL=url),
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("change", ["alter", "delete"])
def test_the_cli_names_the_tampered_record(engine, db_file_url, change):
    case_id = start_case(engine)
    engine.complete_task(open_task(engine, case_id), actor("clerk.a"), {"summary": "材料齐全", "pages": 3})
    intact = verify(db_file_url)
    assert intact.returncode == 0 and "audit chain intact" in intact.stdout, intact.stderr
    with engine.uow() as uow:
        ids = list(uow.session.scalars(sa.select(AuditRecord.id).order_by(AuditRecord.id)))
        target = ids[len(ids) // 2]
        if change == "alter":
            uow.session.execute(sa.update(AuditRecord).where(AuditRecord.id == target).values(summary='{"x": 1}'))
        else:
            uow.session.execute(sa.delete(AuditRecord).where(AuditRecord.id == target))
        uow.session.commit()
    broken = verify(db_file_url)
    assert broken.returncode != 0, broken.stdout
    assert "AUDIT CHAIN BROKEN" in broken.stderr and f"audit record {target}" in broken.stderr, broken.stderr
