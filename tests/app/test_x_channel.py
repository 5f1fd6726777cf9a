"""An X account in the live inbox, through the app, against the local fake X API."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest

from tests.app.test_email_channel import wait_for
from tests.conftest import LiveServer, login, office_login
from tests.support.fake_x import FakeX
from tests.support.sql import connect as sql_connect


def configure(live: LiveServer) -> None:
    settings = {"handle": "PortArgentOT", "user_id": "1072250532645998596", "poll_interval": 0.5}
    path = live.settings.sqlalchemy_url
    with contextlib.closing(sql_connect(path)) as db, db:
        db.execute(
            "update account set active = true, settings = ? where key = 'x-port-argent'",
            (json.dumps(settings),),
        )
        db.execute("update destination set rota_toml = ''")  # the fake's tweets carry any date


def messages(client: Any, conversation_id: int) -> list[dict[str, Any]]:
    return client.get(f"/api/conversations/{conversation_id}").json()["messages"]  # type: ignore[no-any-return]


def test_mentions_in_replies_out(
    make_server: Any, fake: FakeX, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONCIERGE_SECRET_X_PORT_ARGENT_BEARER_TOKEN", "test-bearer")
    monkeypatch.setenv("CONCIERGE_SECRET_X_PORT_ARGENT_OAUTH2_USER_TOKEN", "user-token")
    seed = make_server(x_api_base_url=fake.url)  # every worker sees the same settings
    configure(seed)
    live = make_server(x_api_base_url=fake.url)
    tweet = fake.add_mention("@PortArgentOT le phare est ouvert ce soir ? 🌊", username="ana")
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        rows = wait_for(
            lambda: [
                r for r in client.get("/api/conversations").json() if r["channel"] == "twitter"
            ]
        )
        conversation = rows[0]
        assert conversation["contact_handle"] == "@ana" and not conversation["direct"]
        answer = client.post(
            f"/api/conversations/{conversation['id']}/messages",
            json={"text": "Oui, jusqu'à 22 h !"},
        )
        assert answer.status_code == 201
        wait_for(lambda: fake.posted)
        assert fake.posted[0]["reply"] == {"in_reply_to_tweet_id": tweet}
        assert fake.posted[0]["text"] == "Oui, jusqu'à 22 h !"
        # Reading with the app's token, posting with the OAuth 2.0 user token from the environment.
        posts = [r for r in fake.requests if r.method == "POST" and r.path == "/2/tweets"]
        assert {r.auth for r in posts} == {"bearer:user-token"}
        reads = [r for r in fake.requests if "/mentions" in r.path]
        assert reads and {r.auth for r in reads} == {"bearer:test-bearer"}
        # Over 280 characters: refused at once with the reason, unless posted as a thread.
        long = " ".join(["marée"] * 60)
        refused = client.post(
            f"/api/conversations/{conversation['id']}/messages",
            json={"text": long},
            headers={"accept-language": "en"},
        )
        assert refused.status_code == 422
        assert refused.json() == {
            "detail": "This post is over X's 280 characters: shorten it, or post it as a thread.",
            "code": "error.tweet_too_long",
        }
        assert len(messages(client, conversation["id"])) == 2  # nothing was stored
        client.post(
            f"/api/conversations/{conversation['id']}/messages",
            json={"text": long, "split_thread": True},
        )
        wait_for(lambda: len(fake.posted) == 3)
        assert [p["text"][:4] for p in fake.posted[1:]] == ["1/2 ", "2/2 "]
    # The visitor's answer to our reply joins the same conversation.
    fake.add_mention("@PortArgentOT merci !", username="ana", conversation=tweet)
    with login(live.url, adviser.email, adviser.password) as client:
        wait_for(
            lambda: any(
                m["text"] == "@PortArgentOT merci !" for m in messages(client, conversation["id"])
            )
        )
        assert (
            len([r for r in client.get("/api/conversations").json() if r["channel"] == "twitter"])
            == 1
        )


def test_actions_on_x_through_the_api(
    make_server: Any, fake: FakeX, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Like, refusals in the reader's language, CSRF, and moving to DM: the public invitation,
    then the visitor's DM in the same conversation and the adviser's reply by DM."""
    monkeypatch.setenv("CONCIERGE_SECRET_X_PORT_ARGENT_BEARER_TOKEN", "test-bearer")
    monkeypatch.setenv("CONCIERGE_SECRET_X_PORT_ARGENT_OAUTH2_USER_TOKEN", "user-token")
    seed = make_server(x_api_base_url=fake.url)
    configure(seed)
    live = make_server(x_api_base_url=fake.url)
    tweet = fake.add_mention("@PortArgentOT j'ai oublié mon sac au phare", username="ana")
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        rows = wait_for(
            lambda: [
                r for r in client.get("/api/conversations").json() if r["channel"] == "twitter"
            ]
        )
        cid = rows[0]["id"]
        [message] = messages(client, cid)
        like = f"/api/conversations/{cid}/messages/{message['id']}/x/like"
        token = client.headers.pop("X-CSRF-Token")
        assert client.post(like, json={"liked": True}).status_code == 403
        client.headers["X-CSRF-Token"] = token
        assert fake.likes == set()
        answer = client.post(like, json={"liked": True})
        assert answer.status_code == 200 and answer.json()["details"]["liked"] is True
        assert fake.likes == {tweet}
        again = client.post(like, json={"liked": True}, headers={"accept-language": "fr"})
        assert again.status_code == 409
        assert again.json() == {
            "detail": "Ce tweet est déjà aimé.",
            "code": "x.error.already_liked",
        }
        assert client.post(like, json={"liked": "yes"}).status_code == 422
        assert messages(client, cid)[0]["details"]["liked"] is True
        hide = client.post(
            f"/api/conversations/{cid}/messages/{message['id']}/x/hide",
            json={"hidden": True},
            headers={"accept-language": "en"},
        )
        assert hide.json()["code"] == "x.error.not_a_reply" and hide.status_code == 422

        invitation = client.get(f"/api/conversations/{cid}/x/move-to-dm").json()["text"]
        assert invitation.startswith("Merci pour votre message")
        moved = client.post(f"/api/conversations/{cid}/x/move-to-dm", json={"text": invitation})
        assert moved.status_code == 201 and moved.json()["delivery_status"] == "sent"
        assert fake.posted[-1]["reply"] == {"in_reply_to_tweet_id": tweet}
        view = client.get(f"/api/conversations/{cid}").json()
        assert view["conversation"]["direct"] is True
        fake.add_dm("Merci ! Mon nom est Ana Lopez.", sender="4242", username="ana")
        wait_for(lambda: len(messages(client, cid)) == 3)
        assert messages(client, cid)[-1]["details"]["dm"] is True
        reply = client.post(f"/api/conversations/{cid}/messages", json={"text": "C'est noté."})
        assert reply.status_code == 201
        wait_for(lambda: fake.posted[-1].get("dm_to") == "4242")
        assert fake.posted[-1]["text"] == "C'est noté."
