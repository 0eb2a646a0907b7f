"""The ``vendor`` blueprint: the front-end libraries' built files, served from ``node_modules``
(installed by ``make install`` from package.json / package-lock.json; never kept in git).

Only the files on the allow-list are served; pages ask ``vendor_available`` before they link one,
so that without node_modules they still work and say what is missing.
"""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, send_from_directory

bp = Blueprint("vendor", __name__, url_prefix="/vendor")
NODE_MODULES = Path(__file__).resolve().parents[1] / "node_modules"
ALLOWED = frozenset({
    "bpmn-js/dist/bpmn-navigated-viewer.production.min.js",
    "bpmn-js/dist/assets/diagram-js.css",
    "bpmn-js/dist/assets/bpmn-js.css",
    "chart.js/dist/chart.umd.js",
    # the modeler (web/modeler): the Camunda 7 distribution of bpmn-js, its styles and icon font
    # (the font file, not the data: URL of bpmn-embedded.css, which the CSP refuses), the Chinese labels
    "camunda-bpmn-js/dist/camunda-platform-modeler.production.min.js",
    *(f"camunda-bpmn-js/dist/assets/{name}.css" for name in (
        "diagram-js", "bpmn-js", "bpmn-font/css/bpmn", "color-picker", "diagram-js-minimap", "properties-panel",
        "element-templates", "popup-menu")),
    *(f"camunda-bpmn-js/dist/assets/bpmn-font/font/bpmn.{ext}" for ext in ("woff2", "woff", "ttf", "eot", "svg")),
    "bpmn-js-i18n/translations/zn.js",
})
MAX_AGE = 24 * 3600  # exact versions are pinned; a new lock file comes with a restart


@bp.app_context_processor
def helpers() -> dict:
    return {"vendor_available": available}


def available(*names: str) -> bool:
    """Whether every named library file is allowed and installed (``VENDOR_DIR`` overrides the folder)."""
    root = Path(current_app.config.get("VENDOR_DIR") or NODE_MODULES)
    return all(name in ALLOWED and (root / name).is_file() for name in names)


@bp.get("/<path:name>")
def asset(name: str):
    """One allowed library file (404 for anything else, or when node_modules is missing)."""
    if not available(name):
        abort(404)
    return send_from_directory(current_app.config.get("VENDOR_DIR") or NODE_MODULES, name, max_age=MAX_AGE)
