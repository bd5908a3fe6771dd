"""The error a broken employment rule raises."""

from __future__ import annotations


class RuleBroken(ValueError):
    """An input breaks an employment rule; ``field`` names the input (``body.x`` paths)."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field
