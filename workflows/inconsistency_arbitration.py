"""Procedure `inconsistency_arbitration` (see ../shared/procedures.md): being written."""
from .common import FUNCTIONS as COMMON

FUNCTIONS = dict(COMMON)
