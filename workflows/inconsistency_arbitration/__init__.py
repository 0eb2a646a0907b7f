"""Procedure ``inconsistency_arbitration`` — 不一致协调 (arts. 13, 19).

One package, one procedure (docs/procedures.md, "Adding a procedure"):

- ``glue.py``: its glue: start form and roles, form checks, script functions, statutory periods (the contract the engine reads, re-exported here)
- ``diagram.py``: the diagram builder (``make diagrams`` writes bpmn/inconsistency_arbitration.bpmn from it)
- ``records.py``: its own records (models and the functions that change them, each audited)
- ``labels.py``: the labels of the actions it audits
- ``views.py``: its records as the case page shows them
"""
from . import labels, records, views  # noqa: F401  (read by engine.procedures.Procedure.from_module)
from .glue import *  # noqa: F401,F403
