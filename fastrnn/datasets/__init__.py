"""Datasets: built-in generated tasks (offline, seeded)."""

from ._synthetic import make_long_range_task

__all__ = ["make_long_range_task"]
