"""Extract every message into translations/messages.pot, update the Chinese catalog, fill in the
Chinese of new messages from translations/pending/*.json ({English msgid: 中文}) and compile.

Run from the repository root: ``.venv/bin/python -m tools.merge_translations``. Several people may
run it at once: a lock file serialises them. A msgid still without Chinese is listed and makes it
exit 1 (tests/e2e/test_i18n.py fails on it too).
"""
from __future__ import annotations

import fcntl
import json
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
CATALOGS = ROOT / "translations"
PO = CATALOGS / "zh" / "LC_MESSAGES" / "messages.po"
PYBABEL = str(Path(sys.executable).parent / "pybabel")
KEYWORDS = ["-k", "_l", "-k", "N_", "-k", "msg:2"]


def main() -> int:
    with open(CATALOGS / ".merge.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        subprocess.run([PYBABEL, "-q", "extract", "-F", "web/babel.cfg", *KEYWORDS, "--no-location", "--sort-output",
                        "-o", "translations/messages.pot", "."], cwd=ROOT, check=True)
        subprocess.run([PYBABEL, "-q", "update", "-i", "translations/messages.pot", "-d", "translations",
                        "--no-fuzzy-matching"], cwd=ROOT, check=True)
        pending: dict[str, str] = {}
        for path in sorted((CATALOGS / "pending").glob("*.json")):
            pending.update(json.loads(path.read_text(encoding="utf-8")))
        with PO.open("rb") as f:
            catalog = read_po(f)
        missing = []
        for message in catalog:
            if not message.id or message.string:
                continue
            if message.id in pending:
                message.string = pending[message.id]
            else:
                missing.append(message.id)
        with PO.open("wb") as f:
            write_po(f, catalog, sort_output=True, ignore_obsolete=True)
        subprocess.run([PYBABEL, "-q", "compile", "-d", "translations"], cwd=ROOT, check=True)
    for msgid in missing:
        print(f"no Chinese yet: {msgid!r}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
