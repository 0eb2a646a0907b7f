"""The domain the procedures act on: organisation, catalog, grants and case records.

Each module holds its typed models and the service functions that ``workflows/`` and the web layer
call; every change is validated and audited.
"""
from . import catalog, org, records  # noqa: F401  (register the models on engine.models.Base)
