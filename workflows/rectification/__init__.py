"""Procedure `rectification` — 违规整改 (docs/procedures.md §5; arts. 31 and 32).

One package, one procedure (docs/procedures.md, "Adding a procedure"):

- ``glue.py``: its glue: start form and roles, form checks, script functions, statutory periods (the contract the engine reads, re-exported here)
- ``diagram.py``: the diagram builder (``make diagrams`` writes bpmn/rectification.bpmn from it)
- ``labels.py``: the labels of the actions it audits
"""
from . import labels  # noqa: F401  (read by engine.procedures.Procedure.from_module)
from .glue import *  # noqa: F401,F403
