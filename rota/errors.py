"""The one error a refused rota raises, and the coded reasons it carries.

Every reason has a stable ``code`` and its ``params`` so an application can say it in its
reader's language; ``text`` is the English sentence the CLI and the logs show.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Reason:
    """Why one field was refused: ``field: text`` for people, ``code`` and ``params`` for code."""

    field: str
    code: str
    text: str
    params: Mapping[str, str] = dataclasses.field(default_factory=dict)


class RotaError(ValueError):
    """Raised inside a validator with a code; becomes one :class:`Reason` of the field."""

    def __init__(self, code: str, text: str, **params: Any) -> None:
        super().__init__(text)
        self.code = code
        self.text = text
        self.params = {name: str(value) for name, value in params.items()}


class RotaValidationError(ValueError):
    """The rota was refused; ``reasons`` names each field, ``errors`` as (field, text) pairs."""

    def __init__(self, reasons: Sequence[Reason]) -> None:
        self.reasons = list(reasons)
        self.errors = [(r.field, r.text) for r in self.reasons]
        super().__init__("; ".join(f"{path}: {reason}" for path, reason in self.errors))


def refused(field: str, code: str, text: str, **params: Any) -> RotaValidationError:
    """One refused field: ``raise refused("override.end", "in_the_past", "is in the past")``."""
    error = RotaError(code, text, **params)
    return RotaValidationError([Reason(field, code, text, error.params)])
