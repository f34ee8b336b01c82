"""Problems are data: a code plus parameters. The Slack layer words them in the user's language."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Problem:
    code: str
    params: dict[str, Any] = field(default_factory=dict)


class WorkshopError(Exception):
    """Raised by workflows for anything the user must be told about."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.problem = Problem(code, params)

    @property
    def code(self) -> str:
        return self.problem.code


class NotFound(WorkshopError):
    pass


class Forbidden(WorkshopError):
    pass


class Invalid(WorkshopError):
    """Field-level problems, keyed by form field (shown inline in modals)."""

    def __init__(self, fields: dict[str, Problem]) -> None:
        super().__init__("invalid_input")
        self.fields = fields
