"""User-facing input errors (templates, .readiness.yml): always say where and what was expected."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class InputError(Exception):
    """A problem in a file a user wrote. `str()` is the one line we show them:

    `.readiness.yml:12:5: checklists[1].id: unknown checklist 'prod-readiness'
    (did you mean 'production-readiness'?)` (on one line)
    """

    file: str
    message: str
    line: int | None = None  # 1-based
    column: int | None = None  # 1-based
    path: str | None = None  # key path, e.g. "sections[2].items[0].evidence"
    suggestion: str | None = None  # e.g. "production-readiness"

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        text = f"{where}: "
        if self.path:
            text += f"{self.path}: "
        text += self.message
        if self.suggestion:
            text += f" (did you mean '{self.suggestion}'?)"
        return text


class TemplateError(InputError):
    """A checklist template is invalid."""


class ConfigError(InputError):
    """A repository's .readiness.yml is invalid."""
