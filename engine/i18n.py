"""Words the engine and the procedures hand to a front end for translation.

The engine never translates (it does not import Flask-Babel); it hands out message ids, the English
source text, marked with ``N_`` so that ``pybabel extract -k N_`` collects them into the project's
catalogs (web/translations), and the front end translates them in the reader's language.
"""
from __future__ import annotations


def N_(message: str) -> str:
    """Mark ``message`` (English source text) for the message catalogs; return it unchanged."""
    return message
