from pathlib import Path

import pytest

from rota import Rota, loads_toml

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "rota.example.toml"


@pytest.fixture(scope="session")
def demo_rota() -> Rota:
    return loads_toml(EXAMPLE.read_text(encoding="utf-8"))
