"""What the benchmarks share: quick mode, private databases, a seeded county, results files.

Not a benchmark itself (``make bench`` runs ``bench/bench_*.py`` only).
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from argon2 import PasswordHasher  # noqa: E402

from engine.bootstrap import build_engine  # noqa: E402
from engine.clock import FrozenClock  # noqa: E402
from engine.config import Config  # noqa: E402
from engine.db import create_db_engine  # noqa: E402
from engine.demo.seed import seed_demo  # noqa: E402
from engine.domain import org  # noqa: E402
from engine.errors import GovflowError  # noqa: E402
from engine.migrate import upgrade  # noqa: E402
from engine.service import Engine  # noqa: E402
from engine.uow import Actor  # noqa: E402

PG_URL = os.environ.get("GOVFLOW_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
BPMN = ROOT / "bpmn"
RESULTS = ROOT / "bench" / "results"
START = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)  # Monday 09:00 Beijing

# A 有条件共享 application of 县民政局 for 县公安局's 户籍人口基本信息 (demo catalog), and its approval.
CONSUMER, PROVIDER = "minzheng.clerk", "gongan.clerk"
APPLICATION = {"resource": "HN-GA-001", "scenario": "婚姻登记时核验当事人身份和户籍信息",
               "data_items": "公民身份号码\n姓名", "period_from": "2026-03-01", "period_until": "2026-06-30",
               "materials": "共享申请表（加盖使用部门公章）\n应用场景说明\n履职依据（法律法规或三定方案条款）\n"
                            "数据安全保障承诺书"}
APPROVAL = {"decision": "approve", "granted_items": "姓名", "valid_from": "2026-03-01",
            "valid_until": "2026-05-31", "usage_limits": "仅用于婚姻登记核验"}


def cheap_passwords() -> None:
    """Seeding hashes ~60 passwords: argon2 at its lowest cost (still argon2id), as the tests do."""
    org._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


# -- databases ------------------------------------------------------------------------------------

def pg_problem() -> str | None:
    """Why PostgreSQL is unusable, or None."""
    try:
        probe = sa.create_engine(PG_URL)
        with probe.connect() as conn:
            conn.execute(sa.text("select 1"))
        probe.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"{type(exc).__name__}: {exc}"


def _admin(statement: str) -> None:
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(statement))
    admin.dispose()


@contextmanager
def pg_schema() -> Iterator[str]:
    """A migrated private PostgreSQL schema for one run, dropped afterwards; yields its URL."""
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    _admin(f'CREATE SCHEMA "{schema}"')
    try:
        url = f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}"
        migrate(url)
        yield url
    finally:
        _admin(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@contextmanager
def sqlite_file() -> Iterator[str]:
    """A migrated SQLite file in a temporary directory; yields its URL."""
    with tempfile.TemporaryDirectory(prefix="govflow-bench-") as folder:
        url = f"sqlite:///{Path(folder) / 'govflow.sqlite3'}"
        migrate(url)
        yield url


@contextmanager
def database(kind: str) -> Iterator[str]:
    with (pg_schema() if kind == "postgresql" else sqlite_file()) as url:
        yield url


def migrate(url: str) -> None:
    db = create_db_engine(url)
    upgrade(db)
    db.dispose()


# -- the engine and a county -----------------------------------------------------------------------

def make_engine(url: str, clock: FrozenClock | None = None) -> Engine:
    """The engine as production builds it (procedures of ``workflows/``, notification hook)."""
    return build_engine(Config(database_url=url), clock or FrozenClock(START))


def seed_county(engine: Engine, diagrams: tuple[str, ...] | None = ("share_application",)) -> dict[str, str]:
    """The demo county (30 departments, their clerks and heads, the catalog) and the diagrams.

    ``diagrams``: process ids to deploy from ``bpmn/``, or None for all; a diagram that does not
    deploy (being edited) is skipped and returned with the reason.
    """
    cheap_passwords()
    seed_demo(engine)
    skipped = {}
    for path in sorted(BPMN.glob("*.bpmn")):
        if diagrams is not None and path.stem not in diagrams:
            continue
        try:
            engine.deploy(path.read_bytes())
        except GovflowError as exc:
            skipped[path.stem] = str(exc)
    return skipped


def actor(engine: Engine, login: str) -> Actor:
    with engine.uow() as uow:
        return org.person_by_login(uow.session, login).actor()


def open_task_id(engine: Engine, case_id: int, element_id: str | None = None) -> str:
    from engine.models import HumanTask
    with engine.uow() as uow:
        query = sa.select(HumanTask.id).where(HumanTask.case_id == case_id, HumanTask.state == "ready")
        if element_id:
            query = query.where(HumanTask.element_id == element_id)
        return uow.session.scalars(query).one()


def share_case(engine: Engine, consumer: Actor, provider: Actor) -> int:
    """One share application through the service functions: start, provider review, grant."""
    case_id = engine.start_case("share_application", consumer, APPLICATION)
    engine.complete_task(open_task_id(engine, case_id, "provider_review"), provider, APPROVAL)
    return case_id


# -- figures --------------------------------------------------------------------------------------

def quantiles(samples: list[float]) -> dict[str, float]:
    """p50/p95/max of samples in seconds, reported in milliseconds."""
    ordered = sorted(samples)
    if len(ordered) > 1:
        cuts = statistics.quantiles(ordered, n=100, method="inclusive")
        p50, p95 = cuts[49], cuts[94]
    else:
        p50 = p95 = ordered[0]
    return {"p50_ms": round(p50 * 1e3, 3), "p95_ms": round(p95 * 1e3, 3), "max_ms": round(ordered[-1] * 1e3, 3),
            "n": len(ordered)}


def retrying(fn: Callable[[], object], attempts: int = 3) -> object:
    """Call ``fn``, again if the database dropped the connection (PostgreSQL is shared: a test that
    terminates every client backend must not end a benchmark); the pool reconnects (pre-ping)."""
    for attempt in range(attempts):
        try:
            return fn()
        except sa.exc.OperationalError as exc:
            if attempt == attempts - 1 or not exc.connection_invalidated and "terminat" not in str(exc):
                raise
            print(f"  (database connection dropped, retrying: {str(exc).splitlines()[0][:100]})")
    return None


def sample(fn: Callable[[], object], repeat: int, warmup: int = 2) -> list[float]:
    """Wall-clock seconds of ``repeat`` calls of ``fn`` after ``warmup`` untimed ones (a call that
    lost its connection is repeated, not timed)."""
    for _ in range(warmup):
        retrying(fn)
    times = []
    while len(times) < repeat:
        started = time.perf_counter()
        try:
            fn()
        except sa.exc.OperationalError:
            retrying(fn)
            continue
        times.append(time.perf_counter() - started)
    return times


LOAD_AT_START = os.getloadavg()[0]


def warn_if_busy() -> None:
    """Other processes competing for the CPUs skew every figure: say so up front."""
    if LOAD_AT_START > (os.cpu_count() or 1) / 2:
        print(f"warning: load average {LOAD_AT_START:.1f} on {os.cpu_count()} CPUs when this run started; "
              f"other work on this machine skews the figures")


def write_results(name: str, figures: dict) -> Path:
    figures = {"benchmark": name, "quick": QUICK, "python": platform.python_version(),
               "cpus": os.cpu_count(), "load_average": {"start": round(LOAD_AT_START, 2),
                                                        "end": round(os.getloadavg()[0], 2)},
               "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), **figures}
    out = RESULTS / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"written: {out.relative_to(ROOT)}")
    return out
