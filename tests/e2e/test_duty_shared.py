"""Two offices on duty at once, as an adviser and the manager see it in the inbox: the banner
names the other office sharing the duty, the transfer dialog has both on duty (real Chromium)."""

from __future__ import annotations

import contextlib
import sqlite3
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.app.test_handover_transfer import FESTIVAL
from tests.app.test_routing import SATURDAY_2114
from tests.conftest import LiveServer, office_login
from tests.e2e.conftest import adviser_login, screenshot
from tests.e2e.seeding import chat

pytestmark = pytest.mark.e2e


def test_the_banner_and_the_transfer_dialog_name_every_office_on_duty(
    live: LiveServer, new_page: Any
) -> None:
    path = live.settings.sqlalchemy_url.split(":///", 1)[1]
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("update destination set rota_toml = rota_toml || ?", (FESTIVAL,))
    live.app.state.services.clock.set(SATURDAY_2114, frozen=True)  # type: ignore[attr-defined]
    # Shared by load: the first to Les Salines (the lead, on a tie), the second to Port-Argent.
    chat(live, "Une navette pour le festival ?")
    chat(live, "Un concert ce soir ?")
    page = new_page()
    adviser_login(page, live, office_login(live, "port-argent"))
    banner = page.get_by_test_id("duty-banner")
    expect(banner).to_have_text(
        "Vous êtes de permanence pour la destination jusqu'à 22:00."
        " Permanence partagée avec Office de Tourisme des Salines."
    )
    items = page.get_by_test_id("conversation-item")
    expect(items).to_have_count(1)
    expect(items).to_contain_text("Un concert ce soir ?")
    items.first.click()
    page.get_by_test_id("transfer").click()
    rows = page.get_by_test_id("transfer-office-row")
    expect(rows).to_have_count(3)
    expect(rows.filter(has_text="Port-Argent")).to_have_attribute("data-on-duty", "true")
    expect(rows.filter(has_text="Salines")).to_have_attribute("data-on-duty", "true")
    expect(rows.filter(has_text="Saint-Clair")).to_have_attribute("data-on-duty", "false")
    screenshot(page, "inbox-shared-duty")
