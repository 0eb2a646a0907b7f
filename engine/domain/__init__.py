"""The domain the procedures act on: organisation, catalog, grants and case records.

Each module holds its typed models and the service functions that ``workflows/`` and the web layer
call; every change is validated and audited.
"""
# Importing a module registers its models on engine.models.Base.
from . import catalog, comments, logins, notifications, org, records, urges  # noqa: F401
from . import attachments, throttle  # noqa: F401
from . import api_tokens  # noqa: F401
from . import drafts  # noqa: F401
