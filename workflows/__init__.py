"""One module per procedure: script functions, form options, role resolution.

The engine loads this package by name (``Config``/``build_engine``) and reads ``PROCEDURES``.
"""
PROCEDURES: dict = {}
