"""One package per procedure (``workflows/<process_id>/``): glue, diagram builder, records, labels,
record views. ``common.py`` holds what several share (the 督办 decisions), ``diagram_periods.py`` the
one builder of statutory-period timers and escalations every diagram uses.

The engine loads this package by name (``build_engine(procedures_package="workflows")``) and reads
``PROCEDURES``; it never imports it statically (dependencies point ``web/ -> engine/ <- workflows/``).
docs/procedures.md ("Adding a procedure") is the checklist for a new one.
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
