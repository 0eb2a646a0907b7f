"""Limits that hold under concurrency (issue 15 item 3), on PostgreSQL: thirty parallel wrong
passwords for one login at two server processes get exactly the five failures the limit allows, the
rest 429; twenty parallel objections' counts from two engines (two connection pools, as two
processes have) let exactly the limit through."""
from __future__ import annotations

import re
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests

from engine.clock import SystemClock
from engine.domain import logins, throttle
from engine.errors import GovflowError
from tests.conftest import make_engine

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def wrong_password(base: str, barrier: threading.Barrier) -> int:
    http = requests.Session()
    token = CSRF.search(http.get(f"{base}/login", timeout=30).text).group(1)
    barrier.wait(30)
    return http.post(f"{base}/login", data={"csrf_token": token, "login": "clerk.a", "password": "wrong-guess"},
                     timeout=60, allow_redirects=False).status_code


def test_thirty_parallel_wrong_passwords_at_two_processes_get_five_tries(server):
    first, second = server("waitress"), server("waitress")
    barrier = threading.Barrier(30)
    with ThreadPoolExecutor(30) as pool:
        answers = Counter(pool.map(lambda i: wrong_password((first, second)[i % 2].base, barrier), range(30)))
    assert answers == Counter({200: logins.FAILURE_LIMIT, 429: 30 - logins.FAILURE_LIMIT}), answers


def test_parallel_counts_from_two_engines_let_exactly_the_limit_through(pg_county):
    url = pg_county[0]
    engines = [make_engine(url, SystemClock(), {}) for _ in range(2)]
    limit = throttle.LIMITS["objection"].requests
    barrier = threading.Barrier(20)

    def objection(i: int) -> str:
        engine = engines[i % 2]
        barrier.wait(30)
        with engine.uow() as uow:
            now = engine.clock.now()
            try:
                throttle.check(uow.session, "objection", "198.51.100.7", now)
            except throttle.TooManyRequests:
                return "refused"
            uow.session.execute(throttle.sa.text("SELECT pg_sleep(0.02)"))  # the case being started
            throttle.record(uow.session, "objection", "198.51.100.7", now)
            uow.commit()
            return "accepted"

    try:
        with ThreadPoolExecutor(20) as pool:
            outcomes = Counter(pool.map(objection, range(20)))
    finally:
        for engine in engines:
            engine.db_engine.dispose()
    assert outcomes == Counter({"accepted": limit, "refused": 20 - limit}), outcomes
