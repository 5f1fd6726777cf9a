"""Replies: a reply tweet in the thread, a numbered thread, a DM; readable failures."""

from __future__ import annotations

from datetime import UTC, datetime

from connectors.twitter.text import LIMIT, weighted_length
from tests.connectors.twitter.test_poll import outbound


async def test_a_reply_lands_in_reply_to_the_visitors_tweet(fake_x, make_connector):
    tweet = fake_x.add_mention("@PortArgentOT le phare est ouvert ce soir ?")
    x = make_connector()
    result = await x.send(outbound("Oui, jusqu'à 22 h. 🌊", f"conv:{tweet}", reply_to=tweet))
    assert result.ok and result.external_ids == (fake_x.posted[-1]["id"],)
    (call,) = fake_x.calls("/2/tweets", "POST")
    assert call.body == {"text": "Oui, jusqu'à 22 h. 🌊", "reply": {"in_reply_to_tweet_id": tweet}}
    assert call.auth == "oauth1" and x.status.counters["sent"] == 1


async def test_without_the_visitors_tweet_id_the_reply_goes_to_the_conversation(
    fake_x, make_connector
):
    x = make_connector()
    assert (await x.send(outbound("Bonjour !", "conv:1578516295611748353"))).ok
    assert fake_x.posted[-1]["reply"] == {"in_reply_to_tweet_id": "1578516295611748353"}


async def test_too_long_is_refused_unless_a_thread_is_asked(fake_x, make_connector):
    x = make_connector()
    refused = await x.send(outbound("x" * 281, reply_to="5"))
    assert not refused.ok and not refused.retryable and "281/280" in refused.error
    assert (refused.code, refused.params) == ("x.too_long", {"count": "281", "limit": "280"})
    assert fake_x.posted == []
    long = " ".join(["plage"] * 100)
    threaded = await x.send(outbound(long, reply_to="5", split="1"))
    assert threaded.ok and len(threaded.external_ids) == 3
    texts = [p["text"] for p in fake_x.posted]
    assert [t.split(" ", 1)[0] for t in texts] == ["1/3", "2/3", "3/3"]
    assert all(weighted_length(t) <= LIMIT for t in texts)
    chain = [p["reply"]["in_reply_to_tweet_id"] for p in fake_x.posted]
    assert chain == ["5", *threaded.external_ids[:2]]  # each part answers the previous one


async def test_a_dm_reply_goes_to_the_participant(fake_x, make_connector):
    x = make_connector(oauth2_user_token="user-token-2", consumer_key="")
    result = await x.send(outbound("Bien reçu, nous regardons.", "dm:4242"))
    assert result.ok and result.external_ids == (f"dm:{fake_x.posted[-1]['id']}",)
    (call,) = fake_x.calls("/dm_conversations/with/4242/messages", "POST")
    assert call.body == {"text": "Bien reçu, nous regardons."}
    assert call.auth == "bearer:user-token-2"  # OAuth 2.0 user context
    not_a_user = await x.send(outbound("?", "dm:@ana"))
    assert not not_a_user.ok and (not_a_user.code, not_a_user.params) == (
        "x.not_a_user",
        {"user": "@ana"},
    )
    too_long = await x.send(outbound("a" * 10_001, "dm:4242"))
    assert (too_long.code, too_long.params) == (
        "x.dm_too_long",
        {"count": "10001", "limit": "10000"},
    )
    empty = await x.send(outbound("  \n", "dm:4242"))
    assert (empty.ok, empty.code, empty.params) == (False, "empty", {})


async def test_failed_posts_say_why_and_whether_to_retry(fake_x, make_connector, vtime):
    x = make_connector()
    reset = datetime.fromtimestamp(vtime.now + 900, UTC).isoformat()
    duplicate = "You are not allowed to create a Tweet with duplicate content."
    cases = [
        (503, {"title": "Service Unavailable"}, True, "X unavailable (server error 503)",
         "x.unavailable", {"detail": "server error 503"}),
        (429, None, True, "X rate limit reached until 18:55 UTC", "x.rate_limited", {"until": reset}),
        (403, {"title": "Forbidden", "detail": duplicate},
         False, f"refused by X (403): {duplicate}", "x.refused", {"status": "403", "detail": duplicate}),
        (401, None, False, "refused by X (401)", "x.refused", None),
        (201, "{not json", False, "X's answer could not be read", "x.malformed",
         {"detail": "the answer is not JSON"}),
    ]  # fmt: skip
    for status, body, retryable, error, code, params in cases:
        fake_x.fail(status, body, reset=vtime.now + 900)
        result = await x.send(outbound("hello", reply_to="5"))
        assert not result.ok and result.retryable is retryable and error in result.error
        assert result.code == code and (params is None or result.params == params), result
    fake_x.slow(2.0)
    slow = await make_connector(request_timeout=0.3).send(outbound("hello", reply_to="5"))
    assert not slow.ok and slow.retryable and "no answer in time" in slow.error
    assert x.status.counters["send_failures"] == len(cases)


async def test_a_thread_cut_in_the_middle_is_not_retried(fake_x, make_connector):
    x = make_connector()
    fake_x.slow(0, path="/2/tweets")
    fake_x.fail(503, path="/2/tweets")
    result = await x.send(outbound(" ".join(["marée"] * 60), reply_to="5", split="1"))
    assert not result.ok and not result.retryable
    assert result.external_ids == (fake_x.posted[0]["id"],)
    assert "thread cut after 1 of 2 parts" in result.error
    assert result.code == "x.thread_cut"
    assert result.params == {
        "count": "1",
        "total": "2",
        "detail": "X unavailable (server error 503)",
    }


async def test_an_app_only_token_cannot_post_and_says_so(fake_x, make_connector):
    fake_x.strict_auth = True
    x = make_connector(consumer_key="", consumer_secret="", access_token="", access_token_secret="")
    result = await x.send(outbound("hello", reply_to="5"))
    assert not result.ok and not result.retryable
    assert "refused by X (403)" in result.error and "Application-Only is forbidden" in result.error


async def test_verify_names_the_account_the_tokens_belong_to(fake_x, make_connector):
    assert await make_connector().verify() == "@PortArgentOT"
