"""Procedure 1, 目录变更 (arts. 7, 8, 9, 15, 16): after a change of the law it applies or of its

One package, one procedure (docs/procedures.md, "Adding a procedure"):

- ``glue.py``: its glue: start form and roles, form checks, script functions, statutory periods (the contract the engine reads, re-exported here)
- ``diagram.py``: the diagram builder (``make diagrams`` writes bpmn/catalog_change.bpmn from it)
- ``labels.py``: the labels of the actions it audits
"""
from . import labels  # noqa: F401  (read by engine.procedures.Procedure.from_module)
from .glue import *  # noqa: F401,F403
