"""The rota as a readable TOML file (``concierge rota import | export``)."""

from __future__ import annotations

import tomllib
from typing import Any

import tomli_w

from rota.model import Rota, RotaValidationError, build


def loads_toml(text: str) -> Rota:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RotaValidationError([("file", f"not valid TOML: {exc}")]) from None
    return build(data)


def dumps_toml(rota: Rota) -> str:
    data = rota.model_dump(mode="json", exclude_defaults=False)
    return tomli_w.dumps(_drop_empty(data))


def _drop_empty(value: Any) -> Any:
    """TOML has no null: leave out empty values so the file stays short and valid."""
    if isinstance(value, dict):
        return {
            k: _drop_empty(v) for k, v in value.items() if v is not None and v != [] and v != {}
        }
    if isinstance(value, list):
        return [_drop_empty(v) for v in value]
    return value
