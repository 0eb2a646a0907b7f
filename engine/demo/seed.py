"""``govflow seed-demo``: demo organisation, people and catalog; running it twice changes nothing."""
from __future__ import annotations

from engine import audit
from engine.domain import org
from engine.uow import Actor

from .organisation import DEMO_PASSWORD, DEPARTMENTS, SYSTEM_ACCOUNTS, department_people

SEED_ACTOR = Actor.system("seed-demo")


def seed_demo(engine) -> dict[str, int]:
    """Create what is missing of the demo data; return how many of each thing were created."""
    created = {"departments": _seed_departments(engine), "people": _seed_people(engine)}
    created["catalog_versions"] = _seed_catalog(engine)
    return created


def _seed_departments(engine) -> int:
    count = 0
    with engine.uow() as uow:
        for code, name, kind, _slug in DEPARTMENTS:
            if uow.session.query(org.Department).filter_by(code=code).first() is None:
                org.create_department(uow.session, code, name, kind)
                count += 1
        if count:
            uow.record(audit.Entry(engine.clock.now(), SEED_ACTOR.username, "demo_departments_created",
                                   summary={"count": count}))
        uow.commit()
    return count


def _seed_people(engine) -> int:
    count = 0
    now = engine.clock.now()
    with engine.uow() as uow:
        for login, display, dept_code, roles in [*SYSTEM_ACCOUNTS, *department_people()]:
            if org.person_by_login(uow.session, login) is not None:
                continue
            dept = org.department_by_code(uow.session, dept_code)
            org.create_person(uow.session, login, display, dept, set(roles), DEMO_PASSWORD, now)
            count += 1
        if count:
            uow.record(audit.Entry(now, SEED_ACTOR.username, "demo_people_created", summary={"count": count}))
        uow.commit()
    return count


def _seed_catalog(engine) -> int:
    from .catalog_seed import seed_catalog
    return seed_catalog(engine, SEED_ACTOR)


def demo_logins() -> list[tuple[str, str]]:
    """(login, what for) of the demo accounts, for `make run` and README."""
    accounts = [(login, display) for login, display, _d, _r in SYSTEM_ACCOUNTS]
    accounts += [("gongan.clerk", "县公安局 经办人（提供/使用数据）"), ("gongan.head", "县公安局 数长"),
                 ("shichang.clerk", "县市场监督管理局 经办人"), ("minzheng.clerk", "县民政局 经办人")]
    return accounts
