"""Errors that services raise for input a person could have typed."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """Refused input; ``message`` is shown to the user as it is (Vietnamese)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(ServiceError):
    pass


class Forbidden(ServiceError):
    """Outside what the acting user may do; a view answers 403, the command line a line."""


class Conflict(ServiceError):
    """Someone else saved first; ``current`` holds what is stored now."""

    def __init__(self, message: str, current: Any = None) -> None:
        super().__init__(message)
        self.current = current
