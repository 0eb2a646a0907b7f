"""A scripted crowd on the JSON API (threads with requests sessions and personal tokens), shared by
the load and fault tests and bench/bench_load.py.

Clerks start review_loop cases and complete their 填写材料 task; department heads race each other
for the 数长审批 tasks (two heads claim and complete the same unclaimed tasks), so a lost update
or a task completed twice would show. Every answer is recorded: its status, its latency and which
case or task it concerned; a connection error (the server was killed) is recorded as such."""
from __future__ import annotations

import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import requests

CLERKS = ("clerk.a", "clerk.a2", "clerk.b")
HEADS = ("head.a", "head.a")  # two sessions of one head racing for the same approvals


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: Counter = field(default_factory=Counter)
    latencies: list = field(default_factory=list)
    started: set = field(default_factory=set)           # case ids answered 201
    completed: Counter = field(default_factory=Counter)  # task id -> 200 answers to complete
    connection_errors: int = 0
    server_errors: list = field(default_factory=list)

    def note(self, method: str, url: str, response: requests.Response | None, seconds: float) -> None:
        with self.lock:
            if response is None:
                self.connection_errors += 1
                return
            self.statuses[response.status_code] += 1
            self.latencies.append(seconds)
            if response.status_code >= 500:
                self.server_errors.append(f"{method} {url} -> {response.status_code}: {response.text[:300]}")

    def summary(self, seconds: float) -> dict:
        lat = sorted(self.latencies)
        pick = (lambda q: round(lat[min(len(lat) - 1, int(q * len(lat)))] * 1000, 1)) if lat else (lambda q: None)
        return {"requests": len(lat), "seconds": round(seconds, 1),
                "throughput_rps": round(len(lat) / seconds, 1) if seconds else None,
                "p50_ms": pick(0.50), "p95_ms": pick(0.95),
                "mean_ms": round(statistics.fmean(lat) * 1000, 1) if lat else None,
                "cases_started": len(self.started), "tasks_completed": sum(self.completed.values()),
                "statuses": dict(sorted(self.statuses.items())), "connection_errors": self.connection_errors}


class Member(threading.Thread):
    def __init__(self, base: str, token: str, login: str, tally: Tally, stop: threading.Event, head: bool):
        super().__init__(daemon=True)
        self.base, self.login, self.tally, self.stop, self.head = base, login, tally, stop, head
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"
        self.n = 0

    def call(self, method: str, path: str, body: dict | None = None) -> requests.Response | None:
        began = time.perf_counter()
        try:
            response = self.http.request(method, self.base + path, json=body, timeout=30)
        except requests.RequestException:
            response = None
            time.sleep(0.05)
        self.tally.note(method, path, response, time.perf_counter() - began)
        return response

    def run(self) -> None:
        while not self.stop.is_set():
            (self.approve if self.head else self.start_and_submit)()

    def start_and_submit(self) -> None:
        self.n += 1
        started = self.call("POST", "/api/v1/cases",
                            {"process_id": "review_loop", "data": {"topic": f"{self.login} 第{self.n}件"}})
        if started is None or started.status_code != 201:
            return
        case = started.json()
        with self.tally.lock:
            self.tally.started.add(case["id"])
        [task] = case["open_tasks"]
        self.complete(task["id"], {"summary": f"{self.login} 材料 {self.n}", "pages": 1 + self.n % 400})

    def approve(self) -> None:
        inbox = self.call("GET", "/api/v1/tasks?tab=unclaimed&per_page=10")
        if inbox is None or inbox.status_code != 200 or not inbox.json()["items"]:
            time.sleep(0.05)
            return
        for task in inbox.json()["items"][:3]:
            self.complete(task["id"], {"decision": "approve", "opinion": "同意"})

    def complete(self, task_id: str, data: dict) -> None:
        claimed = self.call("POST", f"/api/v1/tasks/{task_id}/claim")
        if claimed is None or claimed.status_code != 200:
            return
        done = self.call("POST", f"/api/v1/tasks/{task_id}/complete", {"data": data})
        if done is not None and done.status_code == 200:
            with self.tally.lock:
                self.tally.completed[task_id] += 1


def run_crowd(base: str, tokens: dict[str, str], seconds: float, clerks_per_login: int = 2,
              during=None) -> tuple[Tally, float]:
    """Run the crowd for ``seconds``; ``during(elapsed)``, if given, is called every 0.1 s."""
    tally, stop = Tally(), threading.Event()
    members = [Member(base, tokens[login], login, tally, stop, head=False)
               for login in CLERKS for _ in range(clerks_per_login)]
    members += [Member(base, tokens[login], login, tally, stop, head=True) for login in HEADS]
    began = time.monotonic()
    for m in members:
        m.start()
    while (elapsed := time.monotonic() - began) < seconds:
        if during:
            during(elapsed)
        time.sleep(0.1)
    stop.set()
    for m in members:
        m.join(60)
    return tally, time.monotonic() - began
