"""Modelling style (bpmnlint, the rules of ``.bpmnlintrc``), checked on the server: Node runs
``tools/bpmnlint_json.cjs`` over the XML, bounded by a timeout. Its findings are warnings: style,
never a reason to refuse a deployment. Without Node or node_modules the check is skipped, and the
page says so."""
from __future__ import annotations

import json
import logging
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tools" / "bpmnlint_json.cjs"
CONFIG = ROOT / ".bpmnlintrc"
LINTER = ROOT / "node_modules" / "bpmnlint" / "package.json"
TIMEOUT_SECONDS = 10
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Finding:
    element_id: str | None
    rule: str
    message: str


def available() -> bool:
    return shutil.which("node") is not None and LINTER.is_file() and SCRIPT.is_file()


def lint(xml: bytes) -> list[Finding] | None:
    """bpmnlint's findings for an already safely parsed diagram; None when the check could not run."""
    if not available():
        return None
    try:
        done = subprocess.run([shutil.which("node"), str(SCRIPT), str(CONFIG)], input=xml, capture_output=True,
                              timeout=TIMEOUT_SECONDS, cwd=ROOT, check=False)
    except subprocess.TimeoutExpired:
        log.warning("bpmnlint took longer than %s s; skipped", TIMEOUT_SECONDS)
        return None
    if done.returncode != 0:
        log.warning("bpmnlint failed (%s): %s", done.returncode, done.stderr.decode("utf-8", "replace")[:500])
        return None
    try:
        return [Finding(f.get("id"), str(f.get("rule", "")), str(f.get("message", "")))
                for f in json.loads(done.stdout)]
    except (ValueError, AttributeError, TypeError):
        log.warning("bpmnlint printed something other than JSON")
        return None
