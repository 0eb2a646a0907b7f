"""Realistic demo data for ``govflow seed-demo`` (run by ``make run``): idempotent."""
