"""Dependencies point one way: web/ -> engine/ <- workflows/. The engine never imports either."""
from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import engine

ENGINE_DIR = Path(engine.__file__).resolve().parent
REPO_ROOT = ENGINE_DIR.parent
FORBIDDEN = {"flask", "web", "workflows"}

IMPORT_EVERYTHING = """
import importlib, json, pkgutil, sys
import engine
failed = {}
names = ["engine"]
for info in pkgutil.walk_packages(engine.__path__, "engine.", onerror=lambda name: failed.setdefault(name, "walk")):
    names.append(info.name)
    try:
        importlib.import_module(info.name)
    except Exception as exc:
        failed[info.name] = f"{type(exc).__name__}: {exc}"
print(json.dumps({"names": names, "failed": failed, "modules": sorted(sys.modules)}))
"""


def import_everything_in_a_fresh_interpreter() -> dict:
    result = subprocess.run([sys.executable, "-c", IMPORT_EVERYTHING], cwd=REPO_ROOT, capture_output=True,
                            text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_importing_every_engine_module_loads_no_flask_web_or_workflows():
    report = import_everything_in_a_fresh_interpreter()
    assert report["failed"] == {}
    assert {"engine.service", "engine.spiff.parser", "engine.forms"} <= set(report["names"])
    leaked = [m for m in report["modules"] if m.split(".")[0] in FORBIDDEN]
    assert leaked == []


def engine_files() -> list[Path]:
    return sorted(ENGINE_DIR.rglob("*.py"))


def package_of(path: Path) -> tuple[str, ...]:
    return path.relative_to(REPO_ROOT).with_suffix("").parts[:-1]


def imported_roots(source: str, package: tuple[str, ...]) -> set[str]:
    """Top-level names a module imports, relative imports resolved against its ``package``."""
    roots = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else ()
            parts = [*base, *(node.module or "").split(".")]
            parts = [p for p in parts if p]
            roots |= {parts[0]} if parts else {alias.name for alias in node.names}
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) in (
                "import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant):
            roots.add(str(node.args[0].value).split(".")[0])
    return roots


def test_engine_sources_never_import_flask_web_or_workflows():
    files = engine_files()
    assert len(files) > 10 and ENGINE_DIR / "service.py" in files
    offenders = {str(p.relative_to(REPO_ROOT)): sorted(
        imported_roots(p.read_text(encoding="utf-8"), package_of(p)) & FORBIDDEN) for p in files}
    assert {k: v for k, v in offenders.items() if v} == {}


@pytest.mark.parametrize("source, package, expected", [
    ("import flask", ("engine",), {"flask"}),
    ("from flask import Flask", ("engine",), {"flask"}),
    ("import web.views as v", ("engine",), {"web"}),
    ("from .. import web", ("engine",), {"web"}),
    ("from ... import web", ("engine", "spiff"), {"web"}),
    ("from ...workflows import PROCEDURES", ("engine", "spiff"), {"workflows"}),
    ("importlib.import_module('web.views')", ("engine",), {"web"}),
    ("from . import parser", ("engine", "spiff"), set()),
    ("from ..forms import validate", ("engine", "spiff"), set()),
])
def test_the_import_scan_catches_each_spelling(source, package, expected):
    assert imported_roots(source, package) & FORBIDDEN == expected


# -- web/ goes through the engine's door (docs/architecture.md): verbs and read models only ---------

WEB_DIR = REPO_ROOT / "web"
# Actor (engine.uow.Actor) is a plain value the views pass; the unit of work itself is not theirs
WEB_FORBIDDEN_MODULES = ("sqlalchemy", "engine.models", "engine.uow.UnitOfWork", "engine.db", "engine.memo")
WEB_FORBIDDEN_CALLS = ("uow", "commit", "rollback", "flush", "execute", "scalars", "scalar")


def imported_modules(source: str, package: tuple[str, ...]) -> set[str]:
    """Full dotted names a module imports (``from x.y import z`` gives x.y and x.y.z)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else ()
            module = ".".join(p for p in [*base, *(node.module or "").split(".")] if p)
            names.add(module)
            names |= {f"{module}.{alias.name}" for alias in node.names}
    return names


def web_offences(source: str, package: tuple[str, ...]) -> list[str]:
    found = [m for m in imported_modules(source, package)
             if any(m == f or m.startswith(f + ".") for f in WEB_FORBIDDEN_MODULES)]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr == "session":
            found.append(".session")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in WEB_FORBIDDEN_CALLS:
            found.append(f".{node.func.attr}()")
    return sorted(set(found))


def test_web_holds_no_sessions_sql_or_commits():
    """Views parse, call one verb or one read model, render or redirect: no SQLAlchemy, no models, no
    units of work or sessions in web/ (house style 4)."""
    files = sorted(WEB_DIR.rglob("*.py"))
    assert len(files) > 20
    offenders = {str(p.relative_to(REPO_ROOT)): web_offences(p.read_text(encoding="utf-8"), package_of(p))
                 for p in files}
    assert {k: v for k, v in offenders.items() if v} == {}


@pytest.mark.parametrize("source, expected", [
    ("import sqlalchemy as sa", ["sqlalchemy"]),
    ("from engine.models import Case", ["engine.models", "engine.models.Case"]),
    ("from engine import models", ["engine.models"]),
    ("with engine.uow() as uow: pass", [".uow()"]),
    ("rows = uow.session.scalars(q)", [".scalars()", ".session"]),
    ("from engine.views import cases", []),
    ("from engine.uow import Actor", []),
    ("from engine.uow import UnitOfWork", ["engine.uow.UnitOfWork"]),
])
def test_the_web_scan_catches_each_spelling(source, expected):
    assert web_offences(source, ("web",)) == sorted(expected)
