"""In a real browser, the actions on X under a visitor's tweet: Like with the keyboard, the
state announced (aria-pressed), a refusal shown in the adviser's language, and Move to DM
with the invitation prefilled in the visitor's language, edited, then sent."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from app.embedded_redis import free_port
from tests.app.test_email_channel import wait_for
from tests.app.test_x_channel import configure
from tests.conftest import office_login
from tests.e2e.conftest import adviser_login, screenshot
from tests.e2e.test_a11y import blocking_violations
from tests.e2e.test_message_fidelity import open_conversation
from tests.support.fake_x import FakeX, start


@pytest.fixture
def fake() -> Iterator[FakeX]:
    """A local X API v2 (the outside world), fed by the test."""
    fake = FakeX()
    server, thread = start(fake, free_port())
    yield fake
    server.should_exit = True
    thread.join(10)


@pytest.mark.e2e
@pytest.mark.parametrize("locale", ["fr-FR", "en-GB"])
def test_like_and_move_to_dm_from_the_thread(
    make_server: Any, fake: FakeX, new_page: Any, monkeypatch: pytest.MonkeyPatch, locale: str
) -> None:
    fr = locale == "fr-FR"
    monkeypatch.setenv("CONCIERGE_SECRET_X_PORT_ARGENT_BEARER_TOKEN", "test-bearer")
    monkeypatch.setenv("CONCIERGE_SECRET_X_PORT_ARGENT_OAUTH2_USER_TOKEN", "user-token")
    seed = make_server(x_api_base_url=fake.url)
    configure(seed)
    live = make_server(x_api_base_url=fake.url)
    fake.add_user("4242", "ana_voyage", "Ana Lopez")
    tweet = fake.add_mention("@PortArgentOT où récupérer mes clés ?", author="4242")
    adviser = office_login(live, "port-argent")
    page = new_page(locale=locale)
    adviser_login(page, live, adviser)
    page.get_by_test_id("conversation-item").filter(has_text="Ana Lopez").wait_for()
    open_conversation(page, "Ana Lopez")
    message = page.get_by_test_id("message").first
    bar = message.get_by_test_id("x-actions")
    expect(bar).to_be_visible()
    like = bar.get_by_test_id("x-like")
    expect(like).to_have_text("J'aime" if fr else "Like")
    like.focus()
    page.evaluate("() => { window.pressedLike = document.activeElement; }")
    reads: list[str] = []
    page.on("request", lambda r: reads.append(r.url) if r.method == "GET" else None)
    page.keyboard.press("Enter")
    expect(like).to_have_attribute("aria-pressed", "true")
    expect(like).to_have_text("Je n'aime plus" if fr else "Unlike")
    wait_for(lambda: fake.likes == {tweet})
    # The thread draws the changed message again (message.status): the focus is on the new
    # drawing's Like, not lost.
    wait_for(
        lambda: page.evaluate(
            "() => document.activeElement.dataset.testid === 'x-like'"
            " && document.activeElement !== window.pressedLike && document.activeElement.isConnected"
        )
    )
    # …read alone, not with the whole thread.
    assert [u for u in reads if re.search(r"/api/conversations/\d+/messages/\d+$", u)]
    assert not [u for u in reads if re.search(r"/api/conversations/\d+$", u)]
    # Hiding the first tweet of the visitor's own thread is refused, in the adviser's language.
    bar.get_by_test_id("x-hide").click()
    expect(bar.get_by_test_id("x-error")).to_have_text(
        "Seule une réponse à un tweet de l'office peut être masquée."
        if fr
        else "Only a reply to one of the office's tweets can be hidden."
    )
    assert fake.hidden == set()
    bar.get_by_test_id("x-move").click()
    field = bar.get_by_test_id("x-invitation")
    expect(field).to_be_focused()
    wait_for(lambda: field.input_value().startswith("Merci pour votre message"))
    assert blocking_violations(page) == []  # the buttons and the open form, to axe-core
    field.fill(field.input_value() + " — Ana")
    bar.get_by_test_id("x-move-send").click()
    expect(bar.get_by_test_id("x-error")).to_have_text(
        "Cette conversation continue désormais en message privé."
        if fr
        else "This conversation now continues by direct message."
    )
    wait_for(lambda: fake.posted and fake.posted[-1]["text"].endswith(" — Ana"))
    assert fake.posted[-1]["reply"] == {"in_reply_to_tweet_id": tweet}
    expect(page.get_by_test_id("message")).to_have_count(2)
    screenshot(page, f"x-actions-{locale}")
