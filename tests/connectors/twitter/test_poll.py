"""Receiving through the real tweepy HTTP path against the local fake X API: pagination,
cursors across restarts and errors, rate limits, backoff and status texts."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from connectors.base import Author, Channel, OutboundMessage
from tests.connectors.twitter.conftest import VirtualTime
from tests.support.fake_x import FakeX


def outbound(text: str, thread_key: str = "conv:1", reply_to: str = "", **metadata: str):
    return OutboundMessage(
        channel=Channel.TWITTER, account="x-port-argent", conversation_id=1, message_id=1,
        thread_key=thread_key, recipient=Author("4242"), text=text, reply_to_external_id=reply_to,
        metadata=metadata,
    )  # fmt: skip


def mention_calls(fake: FakeX):
    return fake.calls("/mentions")


async def later(x, sink, cursors, vtime: VirtualTime) -> float:
    """The next poll, when it is due: the virtual clock jumps there."""
    vtime.now = max(vtime.now, min(t.due for t in x.timelines.values()))
    return await x.poll_once(sink, cursors)


async def test_recorded_mentions_all_arrive_across_pages_oldest_first(
    fake_x, make_connector, sink, cursors, vtime
):
    ids = fake_x.seed_recorded()
    x = make_connector(direct_messages=False)
    await x.poll_once(sink, cursors)  # first start: the newest `backfill` (100) at most
    for n in range(12):
        fake_x.add_mention(f"@PortArgentOT question {n} 🌊")
    fake_x.page_cap = 10
    await later(x, sink, cursors, vtime)
    got = [m.external_id for m in sink.messages]
    assert got[:10] == ids and len(got) == len(set(got)) == 22
    assert got == sorted(got, key=int)
    assert cursors.values["since_id"] == got[-1]
    second = [c for c in mention_calls(fake_x) if c.params.get("since_id") == ids[-1]]
    assert len(second) == 2 and "pagination_token" in second[1].params
    params = second[0].params
    assert {"conversation_id", "created_at", "referenced_tweets", "lang", "entities",
            "attachments", "note_tweet"} <= set(params["tweet.fields"].split(","))  # fmt: skip
    assert set(params["expansions"].split(",")) == {
        "author_id", "referenced_tweets.id", "in_reply_to_user_id", "referenced_tweets.id.author_id",
        "attachments.media_keys",
    }  # fmt: skip
    assert {"name", "username", "verified", "public_metrics", "profile_image_url"} <= set(
        params["user.fields"].split(",")
    )
    assert {"url", "preview_image_url", "type", "alt_text", "width", "height"} <= set(
        params["media.fields"].split(",")
    )
    first = sink.messages[0]
    assert first.author.handle == "@visitor0" and first.author.name == "Visitor0"
    assert first.thread_key == f"conv:{first.external_id}" and first.author.language == "en"
    assert first.sent_at == datetime(2022, 10, 7, 22, 42, 22, tzinfo=UTC)  # the snowflake time
    # Arrival is when the poller read it: the first poll at 18:40, the next a minute later.
    assert first.received_at == datetime(2026, 7, 18, 18, 40, tzinfo=UTC)
    assert sink.messages[-1].received_at == datetime(2026, 7, 18, 18, 41, tzinfo=UTC)
    assert x.status.counters["items_today"] == 22 and x.status.counters["received"] == 22


async def test_a_restart_resumes_where_the_cursor_is_and_reads_nothing_twice(
    fake_x, make_connector, sink, cursors, vtime
):
    first = fake_x.add_mention("@PortArgentOT le phare est ouvert ?")
    await make_connector(direct_messages=False).poll_once(sink, cursors)
    second = fake_x.add_mention("@PortArgentOT et la marée ?", conversation=first, reply_to=first)
    restarted = make_connector(direct_messages=False)  # a new process, the same cursor store
    await restarted.poll_once(sink, cursors)
    await later(restarted, sink, cursors, vtime)  # nothing new: an empty page
    assert [m.external_id for m in sink.messages] == [first, second]
    assert [c.params.get("since_id") for c in mention_calls(fake_x)] == [None, first, second]
    assert restarted.status.counters["items_today"] == 1
    reply = sink.messages[1]
    assert reply.thread_key == f"conv:{first}" and reply.references == (first,)
    assert reply.metadata["in_reply_to_tweet_id"] == first


async def test_an_inbox_failure_keeps_the_cursor_and_stores_the_rest_without_rereading(
    fake_x, make_connector, sink, cursors, vtime
):
    ids = [fake_x.add_mention(f"@PortArgentOT {n}") for n in range(3)]
    x = make_connector(direct_messages=False)
    await x.poll_once(sink, cursors)
    fake_x.add_mention("@PortArgentOT plus tard")
    await later(x, sink, cursors, vtime)
    sink.fail_on = refused = fake_x.add_mention("@PortArgentOT encore")
    newest = fake_x.add_mention("@PortArgentOT dernier")
    await later(x, sink, cursors, vtime)
    assert x.status.state == "error" and "inbox unavailable" in x.status.detail
    assert int(cursors.values["since_id"]) < int(refused)
    read_before = x.status.counters["items_today"]
    sink.fail_on = None
    await later(x, sink, cursors, vtime)
    assert [m.external_id for m in sink.messages][-2:] == [refused, newest]
    assert len(sink.messages) == len({m.external_id for m in sink.messages}) == 6
    assert x.status.counters["items_today"] == read_before  # stored from memory, not re-read
    assert cursors.values["since_id"] == newest and ids[0] in sink.by_id


async def test_a_server_error_in_the_middle_of_paging_resumes_from_the_page_token(
    fake_x, make_connector, sink, cursors, vtime
):
    x = make_connector(direct_messages=False)
    fake_x.add_mention("@PortArgentOT avant")
    await x.poll_once(sink, cursors)
    ids = [fake_x.add_mention(f"@PortArgentOT rafale {n}") for n in range(25)]
    fake_x.page_cap = 10
    fake_x.slow(0, path="/mentions")  # page 1 as usual…
    fake_x.fail(503, {"title": "Service Unavailable"}, path="/mentions")  # …page 2 fails
    vtime.now = x.timelines["mentions"].due
    await x.poll_once(sink, cursors)
    assert x.status.state == "error" and "503" in x.status.detail
    assert len(sink.messages) == 1  # nothing of the burst stored yet: oldest first
    vtime.now = x.timelines["mentions"].due
    await x.poll_once(sink, cursors)
    calls = mention_calls(fake_x)[1:]
    assert [bool(c.params.get("pagination_token")) for c in calls] == [False, True, True, True]
    assert calls[1].params["pagination_token"] == calls[2].params["pagination_token"]
    assert {c.params["since_id"] for c in calls} == {sink.messages[0].external_id}
    assert [m.external_id for m in sink.messages][1:] == ids
    assert x.status.state == "polling" and x.status.counters["items_today"] == 26


async def test_a_429_schedules_the_next_poll_at_the_reset_time_never_a_retry_storm(
    fake_x, make_connector, sink, cursors, vtime
):
    reset = vtime.now + 1800  # 19:10 UTC
    fake_x.fail(429, reset=reset, path="/mentions")
    fake_x.add_mention("@PortArgentOT bonjour")
    x = make_connector(direct_messages=False)
    sleeps = 0

    async def sleep(seconds: float) -> None:
        nonlocal sleeps
        sleeps += 1
        await vtime.sleep(seconds)
        if sleeps == 2:
            raise RuntimeError("enough")

    x._sleep = sleep
    with pytest.raises(RuntimeError):
        await x.run(sink, cursors)
    assert vtime.slept[0] == 1800  # the scheduled delay is the reset time
    assert len(mention_calls(fake_x)) == 2 and len(sink.messages) == 1
    assert x.status.state == "stopped"
    x2 = make_connector(direct_messages=False)
    fake_x.fail(429, reset=reset + 1800, path="/mentions")
    vtime.now = reset + 600
    await x2.poll_once(sink, cursors)
    assert x2.status.state == "rate_limited"
    assert x2.status.detail == "mentions: rate-limited until 19:40 UTC"


async def test_the_interval_stretches_when_the_remaining_requests_would_not_last(
    fake_x, make_connector, sink, cursors, vtime
):
    fake_x.windows["mentions"] = [3, vtime.now + 600]  # 3 left for 10 minutes
    x = make_connector(direct_messages=False)
    delay = await x.poll_once(sink, cursors)
    assert delay == 300  # 600 s / the 2 left after this request
    assert "to stay within X's rate limit (2 requests left until 18:50 UTC)" in x.status.detail
    vtime.now += 300
    fake_x.windows["mentions"] = [1, vtime.now + 120]
    assert await x.poll_once(sink, cursors) == 120  # 0 left: wait for the reset
    vtime.now += 120
    assert await x.poll_once(sink, cursors) == 60  # a new window: the usual interval


async def test_server_errors_back_off_exponentially_with_jitter_and_recover(
    fake_x, make_connector, sink, cursors, vtime
):
    fake_x.add_mention("@PortArgentOT toujours là ?")
    fake_x.fail(503, {"title": "Service Unavailable"}, times=3)
    x = make_connector(direct_messages=False)
    delays = [await later(x, sink, cursors, vtime) for _ in range(4)]
    assert delays == [120, 240, 480, 60]  # jitter pinned to its ceiling here
    assert [m.text for m in sink.messages] == ["@PortArgentOT toujours là ?"]
    assert x.status.state == "polling" and x.status.detail == "mentions: polling every 60 s"
    fake_x.fail(503, times=12)
    for _ in range(12):
        await later(x, sink, cursors, vtime)
    assert x.timelines["mentions"].due - vtime.now == 900  # capped at max_backoff
    assert "X API unavailable (server error 503); retrying at" in x.status.detail


async def test_the_jitter_spreads_retries(fake_x, make_connector, sink, cursors, vtime):
    from connectors.twitter.connector import XConnector

    config = make_connector(direct_messages=False).config
    delays = set()
    for _ in range(5):
        x = XConnector(config, clock=vtime.clock)
        fake_x.fail(503)
        delays.add(await x.poll_once(sink, cursors))
    assert all(60 <= d <= 120 for d in delays) and len(delays) > 1


async def test_a_hung_server_is_a_network_error(fake_x, make_connector, sink, cursors):
    fake_x.slow(2.0, path="/mentions")
    x = make_connector(direct_messages=False, request_timeout=0.3)
    assert await x.poll_once(sink, cursors) == 120
    assert "X API unavailable (no answer in time)" in x.status.detail


@pytest.mark.parametrize(
    ("status", "body", "state", "detail"),
    [
        (401, None, "error", "credentials revoked or not allowed (401)"),
        (403, {"title": "Forbidden", "detail": "Client Forbidden"}, "error", "X says: Client Forbidden"),
        (200, '{"data": [{"id": "1', "error", "X API unavailable (the answer is not JSON)"),
        (200, "<html>oops</html>", "error", "the answer is not JSON"),
        (200, '{"data": {"id": "1"}}', "error", "'data' is not a list"),
        (200, {"errors": [{"title": "Not Found Error", "detail": "Could not find user with id: [1]."}]},
         "error", "X answered only errors: Could not find user"),
        (400, {"title": "Invalid Request", "detail": "One or more parameters to your request was invalid."},
         "error", "X refused the request (400)"),
        (200, {"meta": {"result_count": 0}}, "polling", "polling every 60 s"),
    ],
)  # fmt: skip
async def test_bad_answers_get_a_readable_status_never_a_crash(
    fake_x, make_connector, sink, cursors, status, body, state, detail
):
    fake_x.add_mention("@PortArgentOT pas perdu")
    x = make_connector(direct_messages=False)
    fake_x.fail(status, body, path="/mentions")
    await x.poll_once(sink, cursors)
    assert x.status.state == state and detail in x.status.detail
    assert sink.messages == [] and "since_id" not in cursors.values
    assert "test-bearer" not in x.status.detail and "cs-test" not in repr(x.config)
    x.timelines["mentions"].due = 0
    await x.poll_once(sink, cursors)
    assert [m.text for m in sink.messages] == ["@PortArgentOT pas perdu"]


async def test_deleted_suspended_withheld_quoted_and_unknown_fields(
    fake_x, make_connector, sink, cursors
):
    original = fake_x.add_tweet("Le phare de Port-Argent au coucher du soleil", "777", "phare_fan")
    gone = fake_x.add_tweet("supprimé", "778", "someone")
    quote = fake_x.add_mention("@PortArgentOT c'est ouvert ? 🌅", quote_of=original)
    dangling = fake_x.add_mention("@PortArgentOT et celui-ci ?", quote_of=gone, reply_to=gone)
    del fake_x.tweets[gone]  # deleted since
    banned = fake_x.add_mention("@PortArgentOT שלום, מתי נפתח? 🌊", author="666", username="banned")
    fake_x.suspended.add("666")
    odd = fake_x.add_mention("@PortArgentOT ok", withheld={"copyright": False, "country_codes": ["DE"]},
                             future_field={"x": 1})  # fmt: skip
    retweet = fake_x.add_mention("RT @someone: @PortArgentOT hello", referenced_tweets=[{"type": "retweeted", "id": original}])  # fmt: skip
    ours = fake_x.add_mention("@PortArgentOT note to self", author=fake_x.me)
    x = make_connector(direct_messages=False)
    await x.poll_once(sink, cursors)
    by_id = sink.by_id
    assert set(by_id) == {quote, dangling, banned, odd}
    assert by_id[quote].details["quoted"] == {
        "id": original, "url": f"https://x.com/phare_fan/status/{original}",
        "text": "Le phare de Port-Argent au coucher du soleil", "author": "@phare_fan",
    }  # fmt: skip
    assert by_id[dangling].details["quoted"] == {"id": gone, "unavailable": True}
    assert by_id[banned].author.external_id == "666" and by_id[banned].author.handle == ""
    assert by_id[banned].text == "@PortArgentOT שלום, מתי נפתח? 🌊"
    assert by_id[odd].metadata["withheld"] == "DE"
    assert cursors.values["since_id"] == ours and retweet not in by_id
    assert x.status.counters["skipped"] == 2 and x.status.state == "polling"


async def test_the_first_start_reads_only_the_backfill(
    fake_x, make_connector, sink, cursors, vtime
):
    ids = [fake_x.add_mention(f"@PortArgentOT ancien {n}") for n in range(30)]
    x = make_connector(direct_messages=False, backfill=5)
    await x.poll_once(sink, cursors)
    assert [m.external_id for m in sink.messages] == ids[-5:]
    assert mention_calls(fake_x)[0].params["max_results"] == "5"
    assert x.status.counters["items_today"] == 5 and cursors.values["since_id"] == ids[-1]


async def test_direct_messages_one_conversation_per_participant_without_our_own(
    fake_x, make_connector, sink, cursors, vtime
):
    fake_x.add_dm("Bonjour, j'ai perdu mon sac", sender="4242", username="ana")
    fake_x.add_dm("Une question 🙂", sender="5151", username="ben")
    x = make_connector()
    await x.poll_once(sink, cursors)
    sent = await x.send(outbound("Nous regardons.", "dm:4242"))  # our DM becomes an event too
    assert sent.ok
    fake_x.add_dm("Merci !", sender="4242", username="ana")
    await later(x, sink, cursors, vtime)
    await later(x, sink, cursors, vtime)
    assert [(m.text, m.thread_key, m.author.handle) for m in sink.messages] == [
        ("Bonjour, j'ai perdu mon sac", "dm:4242", "@ana"),
        ("Une question 🙂", "dm:5151", "@ben"),
        ("Merci !", "dm:4242", "@ana"),
    ]
    assert sink.messages[0].external_id.startswith("dm:")
    assert cursors.values["dm_last_id"] == max((e["id"] for e in fake_x.dm_events), key=int)
    dm_calls = fake_x.calls("/dm_events")
    assert [c.params["max_results"] for c in dm_calls] == ["100", "1", "100", "1"]
    assert all(c.auth == "oauth1" for c in dm_calls)
    # No since_id for DMs: after the probe found a new one, the next page runs on to a stored
    # event (here the 3 older ones); in the steady state the probe re-reads one stored event.
    assert x.status.counters["items_today"] == 2 + (1 + 3) + 1


async def test_without_user_credentials_dms_are_off_and_mentions_still_run(
    fake_x, make_connector, sink, cursors
):
    x = make_connector(consumer_key="", consumer_secret="", access_token="", access_token_secret="")
    await x.poll_once(sink, cursors)
    assert fake_x.calls("/dm_events") == [] and len(mention_calls(fake_x)) == 1
    assert "direct messages: off: no user credentials" in x.status.detail
    assert x.status.state == "polling"


async def test_counters_start_again_each_utc_day(fake_x, make_connector, sink, cursors, vtime):
    fake_x.add_mention("@PortArgentOT un")
    x = make_connector(direct_messages=False)
    await x.poll_once(sink, cursors)
    assert x.status.counters["requests_today"] == 1 and x.status.counters["items_today"] == 1
    vtime.now += 6 * 3600  # past midnight UTC
    await x.poll_once(sink, cursors)
    assert x.status.counters["requests_today"] == 1 and x.status.counters["items_today"] == 0
    assert x.status.counters["received"] == 1


async def test_no_secret_in_logs_reprs_or_status(fake_x, make_connector, sink, cursors, caplog):
    caplog.set_level(logging.DEBUG)
    fake_x.add_dm("secret?")
    x = make_connector(oauth2_user_token="oauth2-user-secret")
    await x.poll_once(sink, cursors)
    fake_x.fail(401)
    x.timelines["mentions"].due = 0
    await x.poll_once(sink, cursors)
    shown = caplog.text + repr(x) + repr(x.config) + str(x.status)
    for value in ("test-bearer", "ck-test", "cs-test", "at-test", "ats-test", "oauth2-user-secret"):
        assert value not in shown
