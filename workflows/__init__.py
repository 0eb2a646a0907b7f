"""One module per procedure: script functions, form options, role resolution, who may start it.

The engine loads this package by name (``build_engine(procedures_package="workflows")``) and reads
``PROCEDURES``; it never imports it statically (dependencies point ``web/ -> engine/ <- workflows/``).
"""
from . import (catalog_change, data_review, inconsistency_arbitration, rectification,
               share_application)

PROCEDURES = {
    "catalog_change": catalog_change,
    "share_application": share_application,
    "data_review": data_review,
    "inconsistency_arbitration": inconsistency_arbitration,
    "rectification": rectification,
}
