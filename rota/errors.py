"""The one error a refused rota raises."""

from __future__ import annotations


class RotaValidationError(ValueError):
    """The rota was refused; ``errors`` lists (field path, reason) pairs."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{path}: {reason}" for path, reason in errors))
