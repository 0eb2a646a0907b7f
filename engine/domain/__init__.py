"""The domain the procedures act on: organisation, catalog, grants and case records.

Each module holds its typed models and the service functions that ``workflows/`` and the web layer
call; every change is validated and audited.
"""
# Importing a module registers its models on engine.models.Base.
from . import catalog, comments, logins, notifications, org, records  # noqa: F401
