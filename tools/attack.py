#!/usr/bin/env python
"""The attack run: govflow served for real (waitress in a subprocess, the demo county on a private
PostgreSQL schema or a SQLite file, every procedure of bpmn/ deployed), attacked from outside and
from inside by every kind of account, counted.

    .venv/bin/python tools/attack.py --db postgres          # the full run (README, "Attack run")
    .venv/bin/python tools/attack.py --db sqlite --quick    # the short run tests/reliability runs

What it sends (all to 127.0.0.1, bounded in count):

* legitimate work first: clerks of several departments start cases of every procedure through the
  API and the pages, claim and complete tasks, comment, attach files; the public objects. Whatever
  is acknowledged (201, a redirect to the new case, 200 on completion) goes into a ledger;
* every GET and POST route of the app's url_map, as an outsider and with the session of each role
  (logged in through /login with its CSRF token): with ids of its own and of other departments'
  objects, out-of-range ids (2**31, 10**20, negative), hostile query strings (``?page=``, dates,
  ``next=//elsewhere``), POSTs without a CSRF token and with hostile bodies;
* an XSS payload in every text field of every form the roles are shown (and in API bodies); every
  HTML answer of the whole run is searched for the payload unescaped;
* hostile uploads (oversized, wrong type, path-traversal names, zip bombs as .docx/.xlsx, a
  billion-laughs diagram for the modeler), JSON nested 100,000 deep and 5,001-digit numbers;
* 30 wrong passwords at once for one login (5 may be tried, the rest 429) and 20 public objections
  at once (5 an hour per address may be received);
* forged session and remember cookies (a wrong key, ``{"_user_id": "1"}`` unsigned, tampered);
* on PostgreSQL, ``pg_terminate_backend`` on the server's connections again and again mid-run.

Then: every 5xx is a failure, so is an unescaped payload, a limit that let more through, a
cross-department read or write that was not refused, a forged cookie that logged in, an open
redirect, anything of the ledger missing afterwards ("data lost") and ``govflow audit verify``
failing. It prints a summary table (and a ``SUMMARY {json}`` line) and exits 1 on any failure.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import requests
import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

PG_URL = os.environ.get("GOVFLOW_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
MARK = "xq" + secrets.token_hex(4)  # what the payloads call; unique to this run
PAYLOADS = (f'"><script>{MARK}(1)</script>', f"'><img src=x onerror={MARK}(2)>",
            f'" onmouseover="{MARK}(3)', f"</textarea><svg onload={MARK}(4)>", f"javascript:{MARK}(5)")
SHORT_PAYLOAD = f"<u>{MARK}</u>"
PAYLOAD = " ".join(PAYLOADS)
UNESCAPED = re.compile("|".join(re.escape(s) for s in (
    f"<script>{MARK}", f"<img src=x onerror={MARK}", f'" onmouseover="{MARK}', f"<svg onload={MARK}",
    f'href="javascript:{MARK}', f"<u>{MARK}")))
BIG = (2**31, 10**20, -1, 0)
PASSWORD = "govflow-demo-2026"  # engine/demo/organisation.py DEMO_PASSWORD

# who attacks: (login, what). Departments: gongan 340822101, shichang 340822102, minzheng 340822103,
# yibao 340822105; the authority 340822001.
ROLES = [
    ("gongan.clerk", "clerk, dept A"), ("shichang.clerk", "clerk, dept B"),
    ("minzheng.clerk", "consumer clerk"), ("yibao.clerk", "consumer clerk"),
    ("gongan.head", "head, dept A"), ("shichang.head", "head, dept B"),
    ("supervisor", "supervisor (authority)"), ("analyst", "analyst"), ("admin", "administrator"),
]
QUICK_ROLES = {"gongan.clerk", "shichang.clerk", "gongan.head", "supervisor", "analyst", "admin"}
QUICK_SWEEP = {"gongan.clerk", "shichang.clerk", "supervisor", "admin"}  # the route sweeps of the quick run
CLERKS = ("gongan.clerk", "shichang.clerk", "minzheng.clerk", "yibao.clerk")
UNUSED_DEPT = "340822204"  # 洪铺镇: the administrator's forms may rename it
VICTIM = "attack.victim"   # a person the administrator's forms may change (created by the run)
QUERY_NAMES = ("page", "per_page", "tab", "sort", "q", "status", "side", "process", "version", "draft",
               "department", "from", "to", "due_from", "due_to", "old", "new", "check", "renew", "year",
               "period", "lang", "next")
HOSTILE_QUERIES = (
    {n: str(10**20) for n in QUERY_NAMES},
    {n: "-1" for n in QUERY_NAMES},
    {n: str(2**31) for n in QUERY_NAMES} | {"next": "//evil.example/x"},
    {n: PAYLOAD for n in QUERY_NAMES},
    {n: "9999-99-99\x00'; DROP TABLE case;--" for n in QUERY_NAMES} | {"next": "https://evil.example/"},
    {n: "1e309" for n in QUERY_NAMES} | {"next": "/\\evil.example"},
    {n: "²" for n in QUERY_NAMES}, {n: "١٢" for n in QUERY_NAMES},
    {"page": "0"}, {"page": "abc"}, {"page": "1" * 5001}, {"page": "NaN"},
)
QUICK_QUERIES = (  # the full run's values, mixed into two query strings
    {n: (str(10**20) if i % 2 else "²\x00") for i, n in enumerate(QUERY_NAMES)} | {"next": "//evil.example/x"},
    {n: (PAYLOAD if i % 2 else "-1") for i, n in enumerate(QUERY_NAMES)} | {"page": "1" * 5001})
TEXT_TYPES = {"text", "search", "email", "tel", "url", ""}
PUBLIC = {"auth.login", "main.healthz", "i18n.set_language", "static", "vendor.asset", "public.objection",
          "public.receipt", "public.status", "api-docs.openapi_json", "api_objections.read", "oidc.start",
          "oidc.callback", "metrics.metrics"}  # /metrics: this machine itself may read it (docs/deploy.md)


# -- the server ---------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``web:create_app`` under waitress in its own process group, on a free port."""

    def __init__(self, env: dict, log: Path, threads: int = 8):
        self.env, self.log_path, self.threads = env, log, threads
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = None

    def start(self) -> "Server":
        self.log = open(self.log_path, "a")
        cmd = [str(Path(sys.executable).parent / "waitress-serve"), f"--listen=127.0.0.1:{self.port}",
               f"--threads={self.threads}", "--call", "web:create_app"]
        self.proc = subprocess.Popen(cmd, cwd=REPO, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-3000:]}")
            try:
                if requests.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not start: {self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.log.close()


# -- the county ---------------------------------------------------------------------------------

class County:
    """A migrated database with bpmn/ deployed and the demo county; API tokens for the roles."""

    def __init__(self, db: str, workdir: Path):
        self.db, self.workdir, self.schema = db, workdir, None
        if db == "postgres":
            self.schema = f"attack_{uuid.uuid4().hex[:10]}"
            admin = sa.create_engine(PG_URL)
            with admin.begin() as conn:
                conn.execute(sa.text(f'CREATE SCHEMA "{self.schema}"'))
            admin.dispose()
            sep = "&" if "?" in PG_URL else "?"
            self.url = f"{PG_URL}{sep}options=-csearch_path%3D{self.schema}&application_name={self.schema}"
        else:
            self.url = f"sqlite:///{workdir / 'govflow.sqlite3'}"
        self.env = dict(os.environ, GOVFLOW_DATABASE_URL=self.url, GOVFLOW_SECRET_KEY=secrets.token_urlsafe(32),
                        GOVFLOW_AUDIT_KEY=secrets.token_urlsafe(40), GOVFLOW_INSTANCE_PATH=str(workdir / "instance"),
                        GOVFLOW_ATTACHMENT_DIR=str(workdir / "attachments"), PYTHONUNBUFFERED="1",
                        # this work tree's code in the server and the CLI, whatever the venv's install points at
                        PYTHONPATH=os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]))
        self.env.pop("GOVFLOW_ENV", None)  # a production-like process: the key is the one given
        self.env.pop("GOVFLOW_METRICS_TOKEN", None)
        self.tokens: dict[str, str] = {}
        self.token_ids: dict[str, int] = {}

    def build(self) -> None:
        os.environ.update({k: self.env[k] for k in ("GOVFLOW_DATABASE_URL", "GOVFLOW_SECRET_KEY", "GOVFLOW_AUDIT_KEY",
                                                    "GOVFLOW_INSTANCE_PATH", "GOVFLOW_ATTACHMENT_DIR")})
        from argon2 import PasswordHasher
        from engine.domain import org
        # the demo's 62 people at argon2's lowest cost (the server verifies whatever cost a hash has)
        org._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        from engine.bootstrap import build_engine
        from engine.config import Config
        from engine.db import create_db_engine
        from engine.demo.seed import seed_demo
        from engine.domain import api_tokens
        from engine.migrate import upgrade
        from engine.verbs.definitions import install
        config = Config.from_env()
        db = create_db_engine(config.database_url)
        upgrade(db)
        db.dispose()
        engine = build_engine(config)
        for path in sorted((REPO / "bpmn").glob("*.bpmn")):
            install(engine, path.read_bytes(), "system:attack-run")
        seed_demo(engine)
        with engine.uow() as uow:
            for login, _ in ROLES:
                person = org.person_by_login(uow.session, login)
                row, secret = api_tokens.create_token(uow, person, "attack run", engine.clock.now())
                uow.session.flush()
                self.tokens[login], self.token_ids[login] = secret, row.id
            uow.commit()
        engine.db_engine.dispose()
        # this tool's own reads: another application_name, so the kills leave them alone
        self.db_engine = sa.create_engine(self.url.replace(f"application_name={self.schema}",
                                                           f"application_name={self.schema}_tool"),
                                          pool_pre_ping=True)

    def add_victim(self) -> None:
        from engine.bootstrap import build_engine
        from engine.config import Config
        from engine.domain import org
        engine = build_engine(Config.from_env())
        with engine.uow() as uow:
            org.create_person(uow.session, VICTIM, "被改的人", org.department_by_code(uow.session, UNUSED_DEPT),
                              {"provider_clerk"}, "victim-password-1", engine.clock.now())
            uow.commit()
        engine.db_engine.dispose()

    def query(self, sql: str, **params) -> list:
        with self.db_engine.connect() as conn:
            return list(conn.execute(sa.text(sql), params))

    def terminate_backends(self) -> int:
        admin = sa.create_engine(PG_URL)
        with admin.connect() as conn:
            killed = conn.execute(sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND application_name = :app"), {"app": self.schema}).scalar()
        admin.dispose()
        return killed or 0

    def drop(self) -> None:
        if getattr(self, "db_engine", None) is not None:
            self.db_engine.dispose()
        if self.schema:
            admin = sa.create_engine(PG_URL)
            with admin.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
            admin.dispose()


# -- forms in pages -----------------------------------------------------------------------------

class FormParser(HTMLParser):
    """The forms of a page: action, method, enctype and their fields as a browser would send them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._form = None
        self._select = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = {"action": a.get("action") or "", "method": (a.get("method") or "get").lower(),
                          "enctype": a.get("enctype") or "", "fields": []}
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag == "input":
            self._form["fields"].append({"tag": "input", "type": (a.get("type") or "").lower(), "name": a.get("name"),
                                         "value": a.get("value") or "", "checked": "checked" in a,
                                         "maxlength": a.get("maxlength"), "min": a.get("min")})
        elif tag == "textarea":
            self._textarea = {"tag": "textarea", "type": "textarea", "name": a.get("name"), "value": "",
                              "maxlength": a.get("maxlength")}
            self._form["fields"].append(self._textarea)
        elif tag == "select":
            self._select = {"tag": "select", "type": "select", "name": a.get("name"), "options": [],
                            "selected": None, "multiple": "multiple" in a}
            self._form["fields"].append(self._select)
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            self._select["options"].append(value)
            if "selected" in a:
                self._select["selected"] = value
        elif tag == "button" and a.get("name"):
            self._form["fields"].append({"tag": "button", "type": "submit", "name": a.get("name"),
                                         "value": a.get("value") or ""})

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea["value"] += data


def parse_forms(text: str) -> list[dict]:
    parser = FormParser()
    try:
        parser.feed(text)
    except Exception:  # noqa: BLE001 - a page the parser cannot read has no forms for us
        return []
    return parser.forms


def fill(form: dict, text: str) -> dict:
    """The form's data as a browser sends it, with ``text`` in every text field."""
    data: list[tuple[str, str]] = []
    button_done = False
    today = date(2026, 12, 7)
    for f in form["fields"]:
        name, kind = f.get("name"), f.get("type")
        if not name:
            continue
        if kind in ("checkbox", "radio"):
            if f.get("checked"):
                data.append((name, f["value"] or "on"))
            continue
        if kind == "submit":
            if not button_done:
                data.append((name, f["value"]))
                button_done = True
            continue
        if kind in ("password", "file", "image", "reset"):
            continue
        if kind == "select":
            options = [o for o in f["options"] if o]
            value = f["selected"] if f["selected"] else (options[0] if options else "")
            data.append((name, value))
        elif kind == "hidden":
            data.append((name, f["value"]))
        elif kind == "date":
            data.append((name, f["value"] or (today + timedelta(days=30)).isoformat()))
        elif kind == "number":
            data.append((name, f["value"] or f.get("min") or "1"))
        elif kind in TEXT_TYPES or kind == "textarea":
            value = text
            limit = f.get("maxlength")
            if limit and limit.isdigit() and len(value) > int(limit):
                value = SHORT_PAYLOAD if len(SHORT_PAYLOAD) <= int(limit) else value[:int(limit)]
            data.append((name, value))
        else:
            data.append((name, f["value"]))
    # radios: a group with nothing checked gets its first value
    groups = {}
    for f in form["fields"]:
        if f.get("type") == "radio" and f.get("name"):
            groups.setdefault(f["name"], f["value"])
    for name, value in groups.items():
        if not any(n == name for n, _ in data):
            data.append((name, value))
    return data


# -- the attacker -------------------------------------------------------------------------------

class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.statuses: Counter = Counter()
        self.server_errors: list[str] = []
        self.connection_errors: list[str] = []
        self.unescaped: list[str] = []
        self.holes: list[str] = []
        self.pages_scanned = 0
        self.seconds: Counter = Counter()  # time waited per route shape
        self.payloads_sent = 0

    def hole(self, text: str) -> None:
        with self.lock:
            self.holes.append(text)


class Attack:
    def __init__(self, county: County, server: Server, quick: bool):
        self.county, self.server, self.quick = county, server, quick
        self.base = server.base
        self.host = urlsplit(self.base).netloc
        self.t = Tally()
        self.roles = [(login, what) for login, what in ROLES if not quick or login in QUICK_ROLES]
        self.sessions: dict[str, requests.Session] = {}
        self.csrf: dict[str, str] = {}
        self.ledger = {"cases": set(), "completed": set(), "receipts": set(), "comments": 0}
        self.kills = {"times": 0, "backends": 0}
        self.since_kill = 0
        self.kill_every = 60 if quick else 150
        self.limits: dict[str, dict] = {}
        self.legit_refused: dict[str, str] = {}
        self.field_names: set[str] = set()
        self.forms_seen: dict[tuple, tuple] = {}  # (path, action) -> (login, form)

    # -- sending ----------------------------------------------------------------------------

    def send(self, http: requests.Session | None, method: str, path: str, who: str = "?",
             **kw) -> requests.Response | None:
        http = http or requests
        kw.setdefault("timeout", 60)
        kw.setdefault("allow_redirects", False)
        url = path if path.startswith("http") else self.base + path
        began = time.perf_counter()
        try:
            response = http.request(method, url, **kw)
        except requests.RequestException as exc:
            with self.t.lock:
                self.t.statuses["connection error"] += 1
                self.t.connection_errors.append(f"{who} {method} {path[:200]}: {type(exc).__name__}")
            return None
        self.check(response, method, path, who)
        shape = re.sub(r"/[0-9a-f-]{36}|/-?\d+", "/{id}", path.split("?")[0])[:60]
        with self.t.lock:
            self.t.seconds[f"{method} {shape}"] += time.perf_counter() - began
        self.maybe_kill()
        return response

    def check(self, response: requests.Response, method: str, path: str, who: str) -> None:
        status = response.status_code
        with self.t.lock:
            self.t.statuses[status] += 1
            if status >= 500:
                self.t.server_errors.append(f"{who} {method} {path[:300]} -> {status}")
        if status in (301, 302, 303, 307, 308):
            location = response.headers.get("Location", "")
            target = urlsplit(location)
            if (target.netloc and target.netloc != self.host) or location.startswith(("//", "/\\")):
                self.t.hole(f"open redirect: {who} {method} {path[:200]} -> {location}")
        if "text/html" in response.headers.get("Content-Type", ""):
            text = response.text
            with self.t.lock:
                self.t.pages_scanned += 1
            found = UNESCAPED.search(text)
            if found:
                with self.t.lock:
                    self.t.unescaped.append(f"{who} {method} {path[:200]}: …{text[max(0, found.start() - 80):found.end() + 40]}…")

    def maybe_kill(self) -> None:
        """On PostgreSQL, terminate the server's database connections every ``kill_every`` requests
        (between two requests of this thread: the pool's connections are idle in it)."""
        if self.county.db != "postgres" or not getattr(self, "killing", False):
            return
        if threading.current_thread() is not threading.main_thread():
            return
        self.since_kill += 1
        if self.since_kill >= self.kill_every:
            self.since_kill = 0
            self.kills["times"] += 1
            self.kills["backends"] += self.county.terminate_backends()

    def token_of(self, login: str) -> str:
        http = self.sessions[login]
        response = self.send(http, "GET", "/notifications/", login)
        found = CSRF_RE.search(response.text) if response is not None else None
        if found:
            self.csrf[login] = found.group(1)
        return self.csrf[login]

    def api(self, login: str | None) -> dict:
        return {"Authorization": f"Bearer {self.county.tokens[login]}"} if login else {}

    # -- phases -----------------------------------------------------------------------------

    def log_in_everyone(self) -> None:
        for login, _ in ROLES:
            http = requests.Session()
            page = self.send(http, "GET", "/login", login)
            token = CSRF_RE.search(page.text).group(1)
            done = self.send(http, "POST", "/login", login,
                             data={"csrf_token": token, "login": login, "password": PASSWORD})
            if done is None or done.status_code != 302:
                raise RuntimeError(f"{login} could not log in: {done and done.status_code}")
            self.sessions[login] = http
            self.token_of(login)
        self.sessions["anonymous"] = requests.Session()
        page = self.send(self.sessions["anonymous"], "GET", "/login", "anonymous")
        self.csrf["anonymous"] = CSRF_RE.search(page.text).group(1)

    def objection_burst(self) -> None:
        """20 public objections at once from one address: the limit is 5 an hour."""
        body = {"objector_kind": "natural_person", "objector_name": f"公众 {PAYLOAD}", "contact_phone": "13800000000",
                "resource": "HN-GA-001", "record_ref": f"户籍记录 {PAYLOAD}"[:500],
                "description": f"出生日期有误 {PAYLOAD}", "evidence": PAYLOAD}
        barrier = threading.Barrier(20)
        self.t.payloads_sent += 1

        def one(_):
            barrier.wait(30)
            return self.send(None, "POST", "/api/v1/objections", "public", json=body)

        with ThreadPoolExecutor(20) as pool:
            answers = list(pool.map(one, range(20)))
        statuses = Counter(r.status_code if r is not None else "error" for r in answers)
        for r in answers:
            if r is not None and r.status_code == 201:
                self.ledger["receipts"].add(r.json()["receipt_code"])
        held = statuses.get(201, 0) == 5 and statuses.get(429, 0) == 15
        self.limits["20 parallel public objections (5 an hour)"] = {
            "accepted": statuses.get(201, 0), "refused_429": statuses.get(429, 0), "held": held}

    def password_burst(self) -> None:
        """30 wrong passwords at once for one login: 5 failures are tried, the rest 429."""
        target = "gaohe.clerk"
        barrier = threading.Barrier(30)

        def one(_):
            http = requests.Session()
            page = self.send(http, "GET", "/login", "guesser")
            token = CSRF_RE.search(page.text).group(1)
            barrier.wait(30)
            return self.send(http, "POST", "/login", "guesser",
                             data={"csrf_token": token, "login": target, "password": f"guess-{secrets.token_hex(3)}"})

        with ThreadPoolExecutor(30) as pool:
            answers = list(pool.map(one, range(30)))
        statuses = Counter(r.status_code if r is not None else "error" for r in answers)
        # and now the right password is refused too, for the 15 minutes
        http = requests.Session()
        token = CSRF_RE.search(self.send(http, "GET", "/login", "guesser").text).group(1)
        right = self.send(http, "POST", "/login", "guesser", data={"csrf_token": token, "login": target,
                                                                   "password": PASSWORD})
        held = statuses.get(200, 0) == 5 and statuses.get(429, 0) == 25 and right.status_code == 429
        self.limits["30 parallel wrong passwords (5 per 15 min)"] = {
            "tried": statuses.get(200, 0), "refused_429": statuses.get(429, 0),
            "right_password_after": right.status_code, "held": held}

    # legitimate work ------------------------------------------------------------------------

    def api_fill(self, fields: list[dict], login: str, text: str, safe: bool = False) -> dict:
        """Values for a procedure's form: an option, a date, a number, and ``text`` in the free text
        fields; ``safe``: plain values its rules accept (the catalog's data items and materials of
        the chosen resource, a past change date, a phone number and an e-mail address)."""
        own = self.department_of(login)
        data = {}
        today = date(2026, 12, 7)
        for f in fields:
            fid, kind = f["id"], f["type"]
            if f.get("readonly"):
                continue
            if f["options"]:
                ids = [o["id"] for o in f["options"]]
                pick = [i for i in ids if not str(i).startswith(("HN-XF", "HN-TJ-001", "HN-SF"))] or ids
                data[fid] = pick[sum(map(ord, login + fid)) % len(pick)] if fid == "resource" else pick[0]
            elif kind == "date":
                past = fid in ("change_date",)
                data[fid] = (today + timedelta(days=-1 if past else 200 if "until" in fid or "to" in fid else 1)).isoformat()
            elif kind in ("integer", "number", "long"):
                data[fid] = max(1, int(f["min"] or 1))
            elif kind == "boolean":
                data[fid] = True
            elif fid == "resources":
                data[fid] = "HN-GA-001\nHN-SJ-001"
            elif fid == "department":
                data[fid] = own
            else:
                value = "材料 " + text
                if f.get("maxlength") and len(value) > int(f["maxlength"]):
                    value = value[:int(f["maxlength"])]
                data[fid] = value
        if safe:
            entry = self.catalog().get(data.get("resource"), {})
            plain = {"contact_phone": "13800000000", "contact_email": "someone@example.org",
                     "data_items": "\n".join(i["name"] for i in entry.get("data_items", [])[:2]),
                     "materials": "\n".join(entry.get("materials", [])) or "申请函"}
            data.update({k: v for k, v in plain.items() if k in data})
        return data

    def catalog(self) -> dict:
        if not getattr(self, "_catalog", None):
            found = self.send(None, "GET", "/api/v1/catalog", "gongan.clerk", headers=self.api("gongan.clerk"))
            self._catalog = {e["code"]: e for e in found.json()["items"]} if found is not None and found.ok else {}
        return self._catalog

    @lru_cache(maxsize=None)
    def department_of(self, login: str) -> str | None:
        rows = self.county.query("SELECT d.code FROM person p JOIN department d ON d.id = p.department_id "
                                 "WHERE p.login = :l", l=login)
        return rows[0][0] if rows else None

    def legit_api_start(self, login: str, process_id: str, text: str) -> int | None:
        form = self.send(None, "GET", f"/api/v1/processes/{process_id}", login, headers=self.api(login))
        if form is None or form.status_code != 200:
            return None
        for safe in (False, True):
            data = self.api_fill(form.json()["fields"], login, text, safe)
            self.t.payloads_sent += not safe
            started = self.send(None, "POST", "/api/v1/cases", login, headers=self.api(login),
                                json={"process_id": process_id, "data": data})
            if started is not None and started.status_code == 201:
                self.ledger["cases"].add(started.json()["id"])
                return started.json()["id"]
        if started is not None:  # the procedure's own rules refused even the plain values
            self.legit_refused[f"{login} {process_id}"] = f"{started.status_code} {started.text[:200]}"
        return None

    def legit_work(self, rounds: int) -> None:
        """Clerks start cases of every procedure they may start; everyone works their inbox."""
        for login in CLERKS:
            procs = self.send(None, "GET", "/api/v1/processes", login, headers=self.api(login))
            for p in procs.json()["items"]:
                self.legit_api_start(login, p["process_id"], PAYLOAD)
        for _ in range(rounds):
            for login, _ in ROLES:
                self.work_inbox(login)

    def work_inbox_of_everyone(self) -> None:
        """After the attacks: the inboxes still work, the tasks still complete."""
        for login, _ in ROLES:
            self.work_inbox(login, 2 if self.quick else 6)

    def work_inbox(self, login: str, limit: int = 6) -> None:
        h = self.api(login)
        for tab in ("mine", "unclaimed"):
            inbox = self.send(None, "GET", f"/api/v1/tasks?tab={tab}&per_page=20", login, headers=h)
            if inbox is None or inbox.status_code != 200:
                continue
            for task in inbox.json()["items"][:limit]:
                tid = task["id"]
                if tab == "unclaimed":
                    claimed = self.send(None, "POST", f"/api/v1/tasks/{tid}/claim", login, headers=h)
                    if claimed is None or claimed.status_code != 200:
                        continue
                form = self.send(None, "GET", f"/api/v1/tasks/{tid}", login, headers=h)
                if form is None or form.status_code != 200:
                    continue
                for safe in (False, True):
                    data = self.api_fill(form.json().get("fields", []), login, PAYLOAD, safe)
                    done = self.send(None, "POST", f"/api/v1/tasks/{tid}/complete", login, headers=h,
                                     json={"data": data})
                    if done is not None and done.status_code == 200:
                        self.ledger["completed"].add(tid)
                        break

    def legit_pages(self) -> None:
        """Through the pages: start forms, comments, evidence files (with payload names)."""
        for login in CLERKS:
            if login not in self.sessions:
                continue
            http = self.sessions[login]
            index = self.send(http, "GET", "/start/", login)
            for pid in sorted(set(re.findall(r'href="/start/([a-z_]+)"', index.text if index is not None else ""))):
                self.submit_forms_of(login, f"/start/{pid}", only_actions=(f"/start/{pid}",))
        for login in ("gongan.clerk", "shichang.clerk"):
            cases = self.county.query("SELECT id FROM \"case\" WHERE started_by = :l ORDER BY id LIMIT 3", l=login)
            for (case_id,) in cases:
                self.t.payloads_sent += 1
                done = self.send(self.sessions[login], "POST", f"/cases/{case_id}/comment", login,
                                 data={"csrf_token": self.csrf[login], "text": f"意见 {PAYLOAD}"})
                if done is not None and done.status_code in (302, 303):
                    self.ledger["comments"] += 1
            tasks = self.county.query("SELECT id FROM human_task WHERE state = 'ready' AND assignee = :l LIMIT 2", l=login)
            for (task_id,) in tasks:
                for name, content in ((f"{SHORT_PAYLOAD}说明.txt", "证明材料 evidence\n".encode()),
                                      ("scan.pdf", b"%PDF-1.4\n% evidence\n%%EOF\n")):
                    self.send(self.sessions[login], "POST", f"/tasks/{task_id}/attachments", login,
                              data={"csrf_token": self.csrf[login]}, files={"file": (name, content)})

    # the forms of every page, with payloads ---------------------------------------------------

    def submit_forms_of(self, login: str, path: str, only_actions=None, skip=()) -> None:
        http = self.sessions[login]
        page = self.send(http, "GET", path, login)
        if page is None or page.status_code != 200 or "text/html" not in page.headers.get("Content-Type", ""):
            return
        for form in parse_forms(page.text):
            action = form["action"] or path
            if form["method"] != "post" or "multipart" in form["enctype"]:
                continue
            if only_actions is not None and action not in only_actions:
                continue
            if any(word in action for word in ("/logout", "/password", "/sessions/end", "/revoke", "/deploy",
                                               "/migrate", "/calendar/publish", "/activate", "/deactivate", *skip)):
                continue
            self.field_names.update(f["name"] for f in form["fields"] if f.get("name"))
            if not any(f.get("type") in TEXT_TYPES | {"textarea"} and f.get("name") and f.get("type") != "hidden"
                       for f in form["fields"]):
                continue
            data = fill(form, PAYLOAD)
            self.t.payloads_sent += 1
            done = self.send(http, "POST", action, login, data=data)
            if done is None:
                continue
            found = re.match(r"^(?:https?://[^/]+)?/cases/(\d+)", done.headers.get("Location", ""))
            if action.startswith("/start/") and found:
                self.ledger["cases"].add(int(found.group(1)))
            if done.status_code in (302, 303):  # the page it leads to, where the payload shows
                self.send(http, "GET", done.headers["Location"], login)

    def xss_everywhere(self) -> None:
        """A payload in every text field of the forms each role is shown."""
        ids = self.ids()
        for login, _ in self.roles:
            paths = ["/", "/tasks", "/account/tokens/", "/grants/", "/supervision/", "/admin/departments/new",
                     "/admin/people/new", "/admin/calendar", "/admin/rule-sets/new", "/modeler/", "/notifications/"]
            few = 2 if self.quick else 6
            paths += [f"/tasks/{t}" for t, *_ in ids["tasks"][:few]]
            paths += [f"/cases/{c}" for c, *_ in ids["cases"][:few]]
            paths += [f"/supervision/tasks/{t}" for t, *_ in ids["tasks"][:few // 2]]
            paths += [f"/supervision/items/{i}" for i in ids["items"][:few // 2]]
            paths += [f"/grants/{g}" for g in ids["grants"][:few // 2]]
            if login == "admin":
                paths += [f"/admin/people/{VICTIM}", f"/admin/departments/{UNUSED_DEPT}"]
            for path in paths:
                self.submit_forms_of(login, path, skip=("/tasks/", "/claim", "/unclaim") if path == "/tasks" else ())
        # the public's pages and the log-in page, as an outsider
        anon = self.sessions["anonymous"]
        for path in ("/public/objection", "/public/objection/status", "/login"):
            page = self.send(anon, "GET", path, "anonymous")
            for form in parse_forms(page.text):
                if form["method"] == "post":
                    self.t.payloads_sent += 1
                    self.send(anon, "POST", form["action"] or path, "anonymous", data=fill(form, PAYLOAD))
        # the modeler: a draft named with the payload, a diagram whose names are the payload
        if "analyst" in self.sessions:
            http, token = self.sessions["analyst"], self.csrf["analyst"]
            from html import escape
            xml = (REPO / "tests" / "fixtures" / "review_loop.bpmn").read_text().replace(
                'name="', f'name="{escape(PAYLOAD)} ', 3)
            for path in ("/modeler/drafts", "/modeler/validate"):
                self.t.payloads_sent += 1
                self.send(http, "POST", path, "analyst", data={"csrf_token": token, "xml": xml, "name": PAYLOAD})
            self.send(http, "GET", "/modeler/", "analyst")

    # ids ------------------------------------------------------------------------------------

    def ids(self) -> dict:
        q = self.county.query
        return {
            "cases": q("SELECT c.id, d.code FROM \"case\" c LEFT JOIN person p ON p.login = c.started_by "
                       "LEFT JOIN department d ON d.id = p.department_id ORDER BY c.id"),
            "tasks": q("SELECT id, department, case_id FROM human_task ORDER BY state, id"),
            "attachments": [r[0] for r in q("SELECT id FROM attachment ORDER BY id")],
            "grants": [r[0] for r in q("SELECT id FROM share_grant ORDER BY id")],
            "items": [r[0] for r in q("SELECT id FROM supervision_item ORDER BY id")],
            "drafts": [r[0] for r in q("SELECT id FROM definition_draft ORDER BY id")],
            "tokens": [(r[0], r[1]) for r in q("SELECT t.id, p.login FROM api_token t JOIN person p ON p.id = t.person_id")],
        }

    def samples(self, login: str) -> dict[str, list]:
        """Values for each URL argument: this role's own objects, other departments', hostile ones."""
        ids = self.ids()
        own = self.department_of(login) if login != "anonymous" else None
        cases = ids["cases"]
        mine = [c for c, d in cases if d == own][:2]
        others = [c for c, d in cases if d != own][:3 if self.quick else 6]
        tasks = ids["tasks"]
        my_tasks = [t for t, d, _ in tasks if d == own][:2]
        other_tasks = [t for t, d, _ in tasks if d != own][:3 if self.quick else 6]
        hostile_ints = [2**31, -1] if self.quick else list(BIG) + [999999]
        hostile_text = ["../../../../etc/passwd", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "x" * 3000,
                        "' OR '1'='1", PAYLOAD.replace("/", "%2F")]
        if self.quick:
            hostile_text = hostile_text[:1]
            mine, others, my_tasks, other_tasks = mine[:1], others[:1], my_tasks[:1], other_tasks[:1]
        first = 1 if self.quick else 3
        return {
            "case_id": mine + others + hostile_ints,
            "task_id": my_tasks + other_tasks + [str(uuid.uuid4())] + hostile_text + [str(2**31)],
            "attachment_id": ids["attachments"][:first] + hostile_ints,
            "grant_id": ids["grants"][:first] + hostile_ints,
            "item_id": ids["items"][:first] + hostile_ints,
            "draft_id": ids["drafts"][:first] + hostile_ints,
            "token_id": [i for i, owner in ids["tokens"] if owner != login][:first] + hostile_ints,
            "process_id": ["share_application", "data_review"] + hostile_text,
            "code": [UNUSED_DEPT, own or "340822101"] + hostile_text,
            "login": [VICTIM] + hostile_text,
            "receipt_code": sorted(self.ledger["receipts"])[:1] + ["NOPE-0000", "x" * 40, "%00"][:first],
            "filename": ["style.css", "../../../README.md", "..%2f..%2fpyproject.toml"][:first + 1],
            "name": ["bpmn-js/dist/bpmn-viewer.production.min.js", "../../package.json", "..%2f..%2fREADME.md"][:first + 1],
        }

    def urls(self, methods: str, login: str) -> list[tuple[str, str]]:
        """(endpoint, path) of every rule with ``methods``, for each combination of sample values
        (one argument varied at a time, the others at their first value)."""
        samples = self.samples(login)
        unknown_id = [1, 2**31, -1] if self.quick else [1, *BIG]
        out = []
        for rule in self.rules:
            if methods not in rule["methods"]:
                continue
            if rule["endpoint"] == "i18n.set_language":
                out += [(rule["endpoint"], f"/language/{c}") for c in ("en", "zh", "xx", "../../")]
                continue
            args = rule["arguments"]
            if not args:
                out.append((rule["endpoint"], rule["rule"]))
                continue
            for varied in args:
                for value in samples.get(varied, unknown_id if varied.endswith("_id") else ["1", "x" * 300]):
                    path = rule["rule"]
                    for a in args:
                        v = value if a == varied else samples.get(a, ["1"])[0]
                        path = re.sub(rf"<(?:[^<>]+:)?{a}>", str(v), path)
                    out.append((rule["endpoint"], path))
        return sorted(set(out))

    def load_rules(self) -> None:
        """The app's url_map, read from the app the server runs (built once here)."""
        from web import create_app
        from engine.bootstrap import build_engine
        from engine.config import Config
        config = Config.from_env()
        engine = build_engine(config)
        app = create_app(config, {"engine": engine, "TESTING": True})
        self.rules = [{"rule": r.rule, "endpoint": r.endpoint, "methods": r.methods, "arguments": sorted(r.arguments)}
                      for r in app.url_map.iter_rules()]
        engine.db_engine.dispose()

    # the sweeps -----------------------------------------------------------------------------

    def in_parallel(self, fn) -> None:
        """``fn(login)`` for the outsider and every role, four at a time. The database connections are
        killed before and after, not during: a query in flight when its connection dies fails that
        request (a 500, nothing changed: tests/reliability/test_faults_pg.py); idle ones must not."""
        self.kill_now()
        logins = [r for r, _ in self.roles if not self.quick or r in QUICK_SWEEP]
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(fn, ["anonymous", *logins]))
        self.kill_now()

    def kill_now(self) -> None:
        if self.county.db == "postgres" and getattr(self, "killing", False):
            self.since_kill = self.kill_every

    def get_sweep(self) -> None:
        self.in_parallel(self.get_sweep_one)

    def get_sweep_one(self, login: str) -> None:
        queries = QUICK_QUERIES if self.quick else HOSTILE_QUERIES
        http = self.sessions[login]
        queried = set()
        for endpoint, path in self.urls("GET", login):
            if endpoint == "i18n.set_language" and not path.endswith(("/en", "/zh")):
                self.send(http, "GET", path, login)
                continue
            response = self.send(http, "GET", path, login)
            if response is not None:
                self.check_read(login, endpoint, path, response)
                response.close()
            if endpoint not in queried and endpoint not in ("static", "vendor.asset", "attachments.download",
                                                            "metrics.metrics", "main.healthz"):
                queried.add(endpoint)  # the hostile query strings once per route
                for query in queries:
                    r = self.send(http, "GET", f"{path}?{urlencode(query)}", login)
                    if r is not None:
                        r.close()
        for endpoint, path in self.urls("GET", login):  # the API, with the role's token instead
            if path.startswith("/api/") and login != "anonymous":
                response = self.send(None, "GET", path, login, headers=self.api(login))
                if response is not None:
                    self.check_read(login, endpoint, path, response)
        self.send(http, "GET", "/language/zh", login)

    def check_read(self, login: str, endpoint: str, path: str, response) -> None:
        """An outsider reads only the public pages; clerks and heads never read another department's
        case, task or file."""
        if response.status_code == 200 and login == "anonymous" and endpoint not in PUBLIC:
            self.t.hole(f"an outsider read {path} ({endpoint}) -> 200")
        if response.status_code != 200 or login in ("anonymous", "supervisor", "admin", "analyst"):
            return
        own = self.department_of(login)
        found = re.search(r"/(?:cases|of-case)/(\d+)", path) or re.search(r"/tasks/([0-9a-f-]{36})", path) \
            or re.search(r"/attachments/(\d+)", path)
        if not found or endpoint in ("tasks.index", "api_tasks.inbox_page"):
            return
        if "/attachments/" in path:
            rows = self.county.query("SELECT case_id FROM attachment WHERE id = :i", i=int(found.group(1)))
            case_id = rows[0][0] if rows else None
        elif "/tasks/" in path:
            rows = self.county.query("SELECT case_id FROM human_task WHERE id = :i", i=found.group(1))
            case_id = rows[0][0] if rows else None
        else:
            case_id = int(found.group(1))
        if case_id is not None and own not in self.involved(case_id):
            self.t.hole(f"cross-department read: {login} ({own}) GET {path} -> 200")

    def involved(self, case_id: int) -> set:
        rows = self.county.query(
            "SELECT d.code FROM \"case\" c JOIN person p ON p.login = c.started_by JOIN department d "
            "ON d.id = p.department_id WHERE c.id = :c UNION SELECT department FROM human_task WHERE case_id = :c "
            "UNION SELECT d.code FROM human_task t JOIN person p ON p.login IN (t.assignee, t.completed_by) "
            "JOIN department d ON d.id = p.department_id WHERE t.case_id = :c", c=case_id)
        return {r[0] for r in rows}

    def post_sweep(self) -> None:
        self.in_parallel(self.post_sweep_one)

    def post_sweep_one(self, login: str) -> None:
        names = sorted(self.field_names - {"csrf_token"})
        hostile = {n: PAYLOAD for n in names}
        hostile_ints = {n: str(10**20) for n in names}
        odd = {n: "²\x00" for n in names}  # a digit int() refuses, a NUL PostgreSQL's text refuses
        http = self.sessions[login]
        token = self.csrf[login]
        for endpoint, path in self.urls("POST", login):
            if path.startswith("/api/"):
                # the API with the role's session cookie and no token: 401, never done
                r = self.send(http, "POST", path, login, json={"data": {}})
                if r is not None and r.status_code < 400:
                    self.t.hole(f"API accepted a session cookie: {login} POST {path} -> {r.status_code}")
                if login != "anonymous":
                    self.send(None, "POST", path, login, headers=self.api(login), json={"data": hostile})
                continue
            # without a CSRF token: refused, never done
            r = self.send(http, "POST", path, login, data={n: "1" for n in names[:5]})
            if r is not None and (r.status_code < 300 or (r.status_code < 400 and "/login" not in
                                                           r.headers.get("Location", ""))):
                self.t.hole(f"POST without CSRF token done: {login} POST {path} -> {r.status_code}")
            if endpoint in ("auth.logout",) or (login != "admin" and endpoint.startswith("admin.")
                                                and "/people/" in path and VICTIM not in path):
                continue
            if endpoint == "auth.login":
                continue
            bodies = ({}, hostile, hostile_ints, odd)
            if self.quick:  # one of them per URL, in turn
                bodies = (bodies[1 + sum(map(ord, path)) % 3],)
            for body in bodies:
                self.send(http, "POST", path, login, data={"csrf_token": token, **body})
            if not self.quick:  # a JSON body, deep, on a page
                self.send(http, "POST", path, login, data=deep_json(), headers={
                    "Content-Type": "application/json", "X-CSRFToken": token})
        self.still_logged_in(login)

    def final_scan(self) -> None:
        """Every page where a stored payload can show, for every role (the authority and the
        administrator see every case; clerks and heads their own), searched for it unescaped."""
        ids = self.ids()
        fixed = ["/", "/tasks", "/tasks?tab=unclaimed", "/tasks?tab=done", "/notifications/", "/account/tokens/",
                 "/grants/", "/supervision/", "/performance/", "/admin/people", "/admin/departments",
                 f"/admin/people/{VICTIM}", f"/admin/departments/{UNUSED_DEPT}", "/admin/calendar", "/admin/rule-sets",
                 "/modeler/", "/start/", "/public/objection/status"]
        for login in [r for r, _ in self.roles]:
            http = self.sessions[login]
            many = 4 if self.quick else 60
            paths = fixed + [f"/cases/{c}" for c, _ in ids["cases"]][:many] + [f"/tasks/{t}" for t, _, _ in ids["tasks"]][:many]
            paths += [f"/supervision/items/{i}" for i in ids["items"]] + [f"/grants/{g}" for g in ids["grants"]]
            paths += [f"/modeler/edit?draft={d}" for d in ids["drafts"]]
            for path in paths:
                r = self.send(http, "GET", path, login)
                if r is not None:
                    r.close()
        for code in sorted(self.ledger["receipts"])[:2]:
            self.send(self.sessions["anonymous"], "POST", "/public/objection/status", "anonymous",
                      data={"csrf_token": self.csrf["anonymous"], "code": code})

    def still_logged_in(self, login: str) -> None:
        if login == "anonymous":
            return
        http = self.sessions[login]
        r = self.send(http, "GET", "/", login)
        if r is None or r.status_code != 200:  # a POST of the sweep ended it (its own token revoked, …)
            page = self.send(http, "GET", "/login", login)
            token = CSRF_RE.search(page.text).group(1)
            self.send(http, "POST", "/login", login, data={"csrf_token": token, "login": login, "password": PASSWORD})
        self.token_of(login)

    # hostile bodies and files -----------------------------------------------------------------

    def hostile_json(self) -> None:
        login = "gongan.clerk"
        h = self.api(login)
        task = self.county.query("SELECT id FROM human_task WHERE state = 'ready' LIMIT 1")
        targets = ["/api/v1/cases", "/api/v1/objections", "/api/v1/grants/1/revoke"]
        if task:
            targets += [f"/api/v1/tasks/{task[0][0]}/complete", f"/api/v1/tasks/{task[0][0]}/claim"]
        bodies = [
            ("nested arrays 100000 deep", deep_json(), "application/json"),
            ("nested objects 100000 deep", ('{"a":' * 100000 + "1" + "}" * 100000).encode(), "application/json"),
            ("5001-digit integer", b'{"process_id": "share_application", "data": {"n": ' + b"9" * 5001 + b"}}",
             "application/json"),
            ("5001-digit float", b'{"data": {"n": 0.' + b"1" * 5001 + b"}}", "application/json"),
            ("5001-digit exponent", b'{"data": {"n": 1e' + b"9" * 5001 + b"}}", "application/json"),
            ("NaN and Infinity", b'{"data": {"a": NaN, "b": Infinity, "c": -Infinity}}', "application/json"),
            ("invalid UTF-8", b'{"data": {"a": "\xff\xfe\xfa"}}', "application/json"),
            ("lone surrogate", b'{"data": {"a": "\\ud800"}}', "application/json"),
            ("NUL in strings", b'{"process_id": "share_application\\u0000", "data": {"scenario": "\\u0000"}}',
             "application/json"),
            ("top-level array", b"[1, 2, 3]", "application/json"),
            ("top-level string", b'"x"', "application/json"),
            ("truncated", b'{"data": {"a": [1, 2', "application/json"),
            ("deep, as text/plain", deep_json(), "text/plain"),
            ("deep, as +json", deep_json(), "application/vnd.api+json"),
            ("deep, as utf-16", deep_json(), "application/json; charset=utf-16"),
            ("3 MB string", b'{"data": {"a": "' + b"x" * (3 * 1024 * 1024) + b'"}}', "application/json"),
            ("wrong types", json.dumps({"process_id": ["x"], "data": "y", "receipt_code": {}}).encode(),
             "application/json"),
            ("huge key count", json.dumps({"data": {f"k{i}": i for i in range(20000)}}).encode(), "application/json"),
        ]
        if self.quick:
            bodies = bodies[:3] + bodies[12:13] + bodies[15:16]
        for _name, body, ctype in bodies:
            for target in targets:
                self.send(None, "POST", target, login, data=body, headers={**h, "Content-Type": ctype})
        # and the same at the log-in page and a public form (before any token or limit is looked at)
        for target in ("/login", "/public/objection"):
            self.send(self.sessions["anonymous"], "POST", target, "anonymous", data=deep_json(),
                      headers={"Content-Type": "application/json", "X-CSRFToken": self.csrf["anonymous"]})

    def hostile_uploads(self) -> None:
        login = "gongan.clerk"
        http, token = self.sessions[login], self.csrf[login]
        task = self.county.query("SELECT id FROM human_task WHERE state = 'ready' AND assignee = :l LIMIT 1", l=login)
        if not task:
            self.work_inbox(login, 0)
            task = self.county.query("SELECT id FROM human_task WHERE state = 'ready' AND department = '340822101' "
                                     "LIMIT 1")
            if task:
                self.send(http, "POST", f"/tasks/{task[0][0]}/claim", login, data={"csrf_token": token})
        other = self.county.query("SELECT id FROM human_task WHERE state = 'ready' AND department <> '340822101' LIMIT 1")
        files = [
            ("oversized.pdf", b"%PDF-1.4\n" + b"0" * (10 * 1024 * 1024 + 10)),
            ("oversized-30MB.pdf", b"%PDF-1.4\n" + b"0" * (30 * 1024 * 1024)),
            ("bomb-1GiB.docx", zip_bomb("word/document.xml")),
            ("program.pdf", b"MZ\x90\x00\x03" + os.urandom(2000)),
            ("page.html", b"<html><script>alert(1)</script></html>"),
            ("page.txt.html", b"plain"),
            ("script.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'),
            ("../../../../../tmp/escape-attack.txt", b"path traversal\n"),
            ("..\\..\\..\\windows\\escape-attack.txt", b"path traversal\n"),
            ("/etc/passwd.txt", b"root\n"),
            ("evil\x00.txt.pdf", b"%PDF-1.4\n"),
            ("\u202etxt.exe", b"hello\n"),
            ("a" * 5000 + ".txt", b"long name\n"),
            (f"{PAYLOAD}.txt", b"payload name\n"),
            ("", b"no name"),
            ("empty.txt", b""),
            ("bomb.xlsx", zip_bomb("xl/workbook.xml")),
            ("bomb.zip.docx", zip_bomb("nothing.xml")),
            ("macro.docx", office_with_macro()),
            ("many-entries.xlsx", many_entry_zip()),
        ]
        if self.quick:
            files = files[:1] + files[2:4] + files[7:9] + files[13:14]
        for name, content in files:
            for target in task[:1] + other[:1]:
                self.send(http, "POST", f"/tasks/{target[0]}/attachments", login, data={"csrf_token": token},
                          files={"file": (name, content)})
        # without a CSRF token, and with the file as a plain field
        if task:
            self.send(http, "POST", f"/tasks/{task[0][0]}/attachments", login, files={"file": ("x.txt", b"x")})
            self.send(http, "POST", f"/tasks/{task[0][0]}/attachments", login,
                      data={"csrf_token": token, "file": "../../etc/passwd"})
        # the modeler's upload: entities, external entities, oversized, not XML, 100000 levels
        if "analyst" in self.sessions:
            http, token = self.sessions["analyst"], self.csrf["analyst"]
            diagrams = [
                ("laughs.bpmn", billion_laughs()),
                ("xxe.bpmn", b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                             b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&x;'
                             b'</bpmn:definitions>'),
                ("big.bpmn", b"<a>" + b"x" * (3 * 1024 * 1024) + b"</a>"),
                ("notxml.bpmn", os.urandom(4096)),
                ("deep.bpmn", b"<a>" * 100000 + b"</a>" * 100000),
                ("../../../etc/x.bpmn", b"<x/>"),
            ]
            if self.quick:
                diagrams = diagrams[:2] + diagrams[4:5]
            for name, content in diagrams:
                for path in ("/modeler/upload", "/modeler/validate", "/modeler/drafts"):
                    self.send(http, "POST", path, "analyst", data={"csrf_token": token}, files={"file": (name, content)})

    def forged_cookies(self) -> None:
        from flask import Flask
        from flask.sessions import SecureCookieSessionInterface
        people = {r[0]: r[1] for r in self.county.query("SELECT login, id FROM person WHERE login IN ('admin', 'supervisor')")}
        wrong = Flask("forger")
        wrong.secret_key = "not-the-servers-key-" + secrets.token_hex(8)
        signer = SecureCookieSessionInterface().get_signing_serializer(wrong)
        forged = []
        for pid in (people.get("admin", 1), people.get("supervisor", 2), 1):
            for user_id in (f"{pid}:0", f"{pid}:1", str(pid)):
                forged.append(("session", signer.dumps({"_user_id": user_id, "_fresh": True})))
        raw = base64.urlsafe_b64encode(json.dumps({"_user_id": "1"}).encode()).decode().rstrip("=")
        forged += [("session", raw), ("session", raw + ".AAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAA"),
                   ("session", "." + raw), ("session", "x" * 8000),
                   ("remember_token", f"1|{hashlib.sha512(b'guess').hexdigest()}"),
                   ("remember_token", f"{people.get('admin', 1)}:0|" + "0" * 128)]
        real = self.sessions["admin"].cookies.get("session")
        if real:  # the administrator's own cookie, one character changed
            i = len(real) // 2
            forged.append(("session", real[:i] + ("A" if real[i] != "A" else "B") + real[i + 1:]))
            forged.append(("session", real.split(".")[0] + "." + ".".join(real.split(".")[1:])[::-1]))
        for name, value in forged:
            for path in ("/admin/", "/tasks", "/supervision/", "/account/tokens/", "/api/v1/tasks"):
                r = self.send(None, "GET", path, "forger", cookies={name: value})
                if r is not None and r.status_code == 200:
                    self.t.hole(f"forged {name} cookie accepted at {path}")
            self.send(None, "POST", "/admin/people/new", "forger", cookies={name: value},
                      data={"login": "forged.person", "display_name": "x", "department": "340822001",
                            "roles": "admin", "password": "forged-password-1"})
        if self.county.query("SELECT id FROM person WHERE login = 'forged.person'"):
            self.t.hole("a forged cookie created a person")

    def authorisation_writes(self) -> None:
        """Clerks and heads act on another department's open tasks and cases with valid tokens."""
        for login in ("shichang.clerk", "shichang.head", "minzheng.clerk"):
            if login not in self.sessions:
                continue
            own = self.department_of(login)
            http, token = self.sessions[login], self.csrf[login]
            victims = self.county.query("SELECT id, case_id FROM human_task WHERE state = 'ready' AND department <> :d",
                                        d=own)
            for task_id, case_id in victims[:4 if self.quick else 12]:
                if own in self.involved(case_id):
                    continue
                for action in ("claim", "unclaim", "complete", "transfer", "return"):
                    self.send(http, "POST", f"/tasks/{task_id}/{action}", login,
                              data={"csrf_token": token, "to": login, "reason": "x", "comment": "x"})
                    if action in ("claim", "unclaim", "complete"):
                        self.send(None, "POST", f"/api/v1/tasks/{task_id}/{action}", login, headers=self.api(login),
                                  json={"data": {}})
                self.send(http, "POST", f"/cases/{case_id}/comment", login, data={"csrf_token": token, "text": "x"})

    # checks ---------------------------------------------------------------------------------

    def snapshot(self) -> dict:
        q = self.county.query
        return {
            "cases": {r[0] for r in q("SELECT id FROM \"case\"")},
            "completed": {r[0] for r in q("SELECT id FROM human_task WHERE state = 'completed'")},
            "audit": {r[0]: r[1] for r in q("SELECT id, hash FROM audit_record")},
            "attachments": {r[0]: r[1] for r in q("SELECT id, stored_name FROM attachment")},
        }

    def data_lost(self, before: dict) -> list[str]:
        after = self.snapshot()
        lost = []
        for what in ("cases", "completed"):
            gone = (before[what] | self.ledger[what]) - after[what]
            if gone:
                lost.append(f"{what}: {sorted(gone)[:10]}")
        changed = [i for i, h in before["audit"].items() if after["audit"].get(i) != h]
        if changed:
            lost.append(f"audit records removed or changed: {changed[:10]}")
        gone = [i for i in before["attachments"] if i not in after["attachments"]]
        missing_files = [i for i, name in after["attachments"].items()
                         if not (Path(self.county.env["GOVFLOW_ATTACHMENT_DIR"]) / name).is_file()]
        if gone or missing_files:
            lost.append(f"attachments: rows {gone[:10]}, files {missing_files[:10]}")
        for code in self.ledger["receipts"]:
            r = self.send(None, "GET", f"/api/v1/objections/{code}", "public")
            if r is None or r.status_code not in (200, 429):
                lost.append(f"objection {code}: {r and r.status_code}")
        completions = {r[0] for r in self.county.query("SELECT task_id FROM audit_record WHERE action = 'task_completed'")}
        started = {r[0] for r in self.county.query("SELECT case_id FROM audit_record WHERE action = 'case_started'")}
        if after["completed"] - completions:
            lost.append(f"completed tasks without their audit record: {sorted(after['completed'] - completions)[:5]}")
        if after["cases"] - started:
            lost.append(f"cases without their case_started record: {sorted(after['cases'] - started)[:5]}")
        for login, _ in ROLES:  # every role's API token still works
            r = self.send(None, "GET", "/api/v1/tasks?tab=mine", login, headers=self.api(login))
            if r is None or r.status_code != 200:
                lost.append(f"the API token of {login} no longer works ({r and r.status_code})")
        self.counts = {"cases": len(after["cases"]), "tasks completed": len(after["completed"]),
                       "audit records": len(after["audit"]), "attachments": len(after["attachments"])}
        return lost

    def outside_writes(self) -> list[str]:
        """Audit records by a clerk or head on a case none of their department's work touches."""
        rows = self.county.query(
            "SELECT a.actor, a.case_id, a.action, d.code FROM audit_record a JOIN person p ON p.login = a.actor "
            "JOIN department d ON d.id = p.department_id WHERE a.case_id IS NOT NULL AND "
            "(p.login LIKE '%.clerk' OR p.login LIKE '%.head')")
        return [f"{actor} ({dept}) {action} on case {case_id}" for actor, case_id, action, dept in rows
                if dept not in self.involved(case_id)]

    def leaked_files(self, root: Path) -> list[str]:
        stored = Path(self.county.env["GOVFLOW_ATTACHMENT_DIR"])
        bad = [p.name for p in stored.iterdir() if not re.fullmatch(r"[0-9a-f]{32}", p.name)] if stored.exists() else []
        bad += [str(p) for p in (Path("/tmp/escape-attack.txt"), root / "escape-attack.txt") if p.exists()]
        return bad

    def verify_audit(self) -> tuple[bool, str]:
        done = subprocess.run([sys.executable, "-c", "from engine.cli import main; main()", "audit", "verify"],
                              cwd=REPO, env=self.county.env, capture_output=True, text=True, timeout=300)
        text = (done.stdout + done.stderr).strip().splitlines()
        return done.returncode == 0 and "intact" in done.stdout, (text[-1] if text else "")


# -- hostile payloads ---------------------------------------------------------------------------

def deep_json(depth: int = 100000) -> bytes:
    return b'{"process_id": "share_application", "data": {"a": ' + b"[" * depth + b"]" * depth + b"}}"


@lru_cache(maxsize=8)
def zip_bomb(member: str, megabytes: int = 1024) -> bytes:
    """An office package whose part inflates to ``megabytes`` MiB of zeros (1 GiB: about 1 MB on the
    wire), written by hand: one deflated MiB, flushed to a byte boundary with its state reset, repeated."""
    import struct
    import zlib
    mib = b"\0" * (1 << 20)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = packer.compress(mib) + packer.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(megabytes):
        crc = zlib.crc32(mib, crc)
    entries = [("[Content_Types].xml", 0, b'<?xml version="1.0"?><Types/>', None, None),
               (member, 8, block * megabytes + b"\x03\x00", crc, megabytes << 20)]
    out, central = io.BytesIO(), io.BytesIO()
    for name, method, data, crc32, size in entries:
        crc32 = zlib.crc32(data) if crc32 is None else crc32
        size = len(data) if size is None else size
        offset, raw = out.tell(), name.encode()
        out.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, method, 0, 33, crc32, len(data), size, len(raw), 0))
        out.write(raw + data)
        central.write(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, method, 0, 33, crc32, len(data), size,
                                  len(raw), 0, 0, 0, 0, 0, offset) + raw)
    start = out.tell()
    out.write(central.getvalue())
    out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(central.getvalue()),
                          start, 0))
    return out.getvalue()


def office_with_macro() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
        z.writestr("word/vbaProject.bin", b"\xd0\xcf\x11\xe0")
    return out.getvalue()


@lru_cache(maxsize=1)
def many_entry_zip(n: int = 60000) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        for i in range(n):
            z.writestr(f"x/{i}", b"")
    return out.getvalue()


def billion_laughs() -> bytes:
    lines = ['<?xml version="1.0"?>', "<!DOCTYPE lolz [", '<!ENTITY lol "lol">']
    for i in range(1, 10):
        lines.append(f'<!ENTITY lol{i} "' + f"&lol{i - 1};" * 10 + '">' if i > 1 else
                     '<!ENTITY lol1 "' + "&lol;" * 10 + '">')
    lines += ["]>", "<lolz>&lol9;</lolz>"]
    return "\n".join(lines).encode()


# -- the run ------------------------------------------------------------------------------------

def run(db: str, quick: bool) -> int:
    began = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix=f"govflow-attack-{db}-"))
    county = County(db, workdir)
    server = None
    summary: dict = {"database": db, "mode": "quick" if quick else "full", "date": date.today().isoformat()}
    failures: list[str] = []
    try:
        county.build()
        server = Server(county.env, workdir / "server.log").start()
        attack = Attack(county, server, quick)
        attack.load_rules()
        phases: list[tuple[str, float]] = []

        def phase(name, fn, *args):
            t0 = time.monotonic()
            fn(*args)
            phases.append((name, round(time.monotonic() - t0, 1)))

        phase("log in", attack.log_in_everyone)
        phase("objection burst", attack.objection_burst)
        phase("password burst", attack.password_burst)
        phase("legitimate work", attack.legit_work, 1 if quick else 2)
        phase("legitimate pages", attack.legit_pages)
        phase("victim", county.add_victim)  # the person the administrator's forms may change
        before = attack.snapshot()
        attack.killing = True
        phase("XSS in every form", attack.xss_everywhere)
        phase("GET sweep", attack.get_sweep)
        phase("cross-department writes", attack.authorisation_writes)
        phase("POST sweep", attack.post_sweep)
        phase("hostile JSON", attack.hostile_json)
        phase("hostile uploads", attack.hostile_uploads)
        phase("forged cookies", attack.forged_cookies)
        attack.killing = False
        phase("legitimate work after", attack.work_inbox_of_everyone)
        # the pages once more, where every payload stored by now shows
        phase("final page scan", attack.final_scan)
        lost = attack.data_lost(before)
        outside = attack.outside_writes()
        leaked = attack.leaked_files(workdir)
        verified, verify_line = attack.verify_audit()
        t = attack.t
        summary.update({
            "requests": sum(t.statuses.values()),
            "refusals": {str(k): v for k, v in sorted(t.statuses.items(), key=str) if isinstance(k, int) and 400 <= k < 500},
            "statuses": {str(k): v for k, v in sorted(t.statuses.items(), key=str)},
            "server_errors": len(t.server_errors), "connection_errors": len(t.connection_errors),
            "payloads_sent": t.payloads_sent, "html_pages_scanned": t.pages_scanned,
            "unescaped_payloads": len(t.unescaped), "holes": len(t.holes) + len(outside) + len(leaked),
            "limits": attack.limits, "db_connections_killed": attack.kills,
            "data_lost": lost or "none", "counts": attack.counts,
            "ledger": {"cases": len(attack.ledger["cases"]), "tasks completed": len(attack.ledger["completed"]),
                       "objections": len(attack.ledger["receipts"]), "comments": attack.ledger["comments"]},
            "audit_verify": verify_line, "audit_verified": verified, "legit_starts_refused": attack.legit_refused,
            "roles": [login for login, _ in attack.roles], "phases": phases,
            "slowest_routes_s": {k: round(v, 1) for k, v in t.seconds.most_common(8)},
            "seconds": round(time.monotonic() - began, 1),
        })
        failures += [f"5xx: {e}" for e in t.server_errors[:30]]
        failures += [f"no answer: {e}" for e in t.connection_errors[:10]]
        failures += [f"XSS: {e}" for e in t.unescaped[:20]]
        failures += [f"hole: {e}" for e in t.holes[:30]]
        failures += [f"hole: write outside the department: {e}" for e in outside[:20]]
        failures += [f"hole: file outside the attachment folder: {e}" for e in leaked]
        failures += [f"limit did not hold: {k} {v}" for k, v in attack.limits.items() if not v["held"]]
        failures += [f"data lost: {e}" for e in lost]
        if not verified:
            failures.append(f"audit verify failed: {verify_line}")
        if t.server_errors:
            summary["server_log_tail"] = tail_tracebacks(workdir / "server.log")
    except Exception as exc:  # noqa: BLE001 - the run itself broke: say so in the summary, fail
        import traceback
        traceback.print_exc()
        failures.append(f"the run broke off: {type(exc).__name__}: {str(exc)[:500]}")
    finally:
        if server is not None:
            server.stop()
        county.drop()
    summary["failures"] = failures
    print_summary(summary)
    print("SUMMARY " + json.dumps(summary, ensure_ascii=False, default=str))
    if not failures:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"server log kept in {workdir / 'server.log'}")
    return 1 if failures else 0


def tail_tracebacks(log: Path) -> str:
    text = log.read_text(errors="replace") if log.exists() else ""
    found = [m.start() for m in re.finditer("Traceback", text)]
    return text[found[0]:found[0] + 4000] if found else text[-2000:]


def print_summary(s: dict) -> None:
    rows = [("database", f"{s['database']} ({s['mode']} run, {s.get('seconds', '?')} s)")]
    if "requests" in s:
        rows += [
            ("requests sent", f"{s['requests']:,}"),
            ("refusals (4xx)", f"{sum(s['refusals'].values()):,}: " + ", ".join(
                f"{k} × {v:,}" for k, v in s["refusals"].items())),
            ("server errors (5xx)", str(s["server_errors"])),
            ("no answer (connection errors)", str(s["connection_errors"])),
            ("XSS payloads sent / unescaped", f"{s['payloads_sent']} / {s['unescaped_payloads']} "
                                              f"(in {s['html_pages_scanned']:,} HTML answers)"),
            ("authorisation and other holes", str(s["holes"])),
        ]
        for name, v in s["limits"].items():
            rows.append((name, ", ".join(f"{k} {x}" for k, x in v.items())))
        if s["database"] == "postgres":
            rows.append(("DB connections killed", f"{s['db_connections_killed']['times']} times, "
                                                  f"{s['db_connections_killed']['backends']} backends"))
        rows += [
            ("data lost", "none" if s["data_lost"] == "none" else "; ".join(s["data_lost"])),
            ("in the database after", ", ".join(f"{k} {v}" for k, v in s["counts"].items())),
            ("audit chain", ("verified: " if s["audit_verified"] else "FAILED: ") + s["audit_verify"]),
        ]
    rows.append(("result", "PASS" if not s["failures"] else f"FAIL ({len(s['failures'])})"))
    width = max(len(r[0]) for r in rows)
    print()
    for k, v in rows:
        print(f"  {k:<{width}}  {v}")
    for f in s["failures"]:
        print("  ! " + f)
    print()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--quick", action="store_true", help="fewer roles and hostile variants (about a minute)")
    args = parser.parse_args(argv)
    return run(args.db, args.quick)


if __name__ == "__main__":
    sys.exit(main())
