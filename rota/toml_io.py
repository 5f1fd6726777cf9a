"""The rota as a readable TOML file (``concierge rota import | export``).

Dates and instants are TOML's own (``anchor = 2026-01-05``, ``start = 2026-07-14 22:00:00+02:00``);
wall-clock windows are strings (``"17:00-22:00"``, ``"22:00-08:00+1"`` for an overnight one).
"""

from __future__ import annotations

import tomllib
from typing import Any

import tomli_w

from rota.errors import refused
from rota.model import Rota, build


def loads_toml(text: str) -> Rota:
    """A validated rota from TOML text; raises :class:`RotaValidationError` naming each field."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise refused("file", "bad_toml", f"not valid TOML: {exc}", reason=exc) from None
    return build(data)


def dumps_toml(rota: Rota) -> str:
    """The rota as TOML text that :func:`loads_toml` reads back to an equal rota."""
    data = _drop_empty(rota.model_dump(mode="python"))
    # A duty season's ``holiday = []`` (no duty on its holidays) is not its absence (the
    # duty's own holiday windows): keep it.
    for i, season in enumerate(rota.duty.seasons):
        if season.holiday == []:
            data["duty"]["seasons"][i]["holiday"] = []
    if rota.rotations:
        data.pop("rotation", None)  # unused (the default) when [[rotations]] are given
    return tomli_w.dumps(data)


def _drop_empty(value: Any) -> Any:
    """TOML has no null: leave out empty values so the file stays short and valid."""
    if isinstance(value, dict):
        cleaned = {k: _drop_empty(v) for k, v in value.items()}
        return {k: v for k, v in cleaned.items() if v is not None and v not in ("", [], {})}
    if isinstance(value, list):
        return [_drop_empty(v) for v in value]
    return value
