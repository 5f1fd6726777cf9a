"""The X connector against the local fake X API: polling, cursors, limits, replies."""

from __future__ import annotations

import time

import pytest

from connectors.base import Author, Channel, OutboundMessage
from connectors.twitter.config import XAccountConfig
from connectors.twitter.connector import XConnector
from tests.support.fake_x import FakeX, recorded_mentions
from tests.support.memory import MemoryCursors, MemorySink


def connector(fake: FakeX, **changes: object) -> XConnector:
    config = XAccountConfig(
        account="x-port-argent", handle="PortArgentOT", user_id="1072250532645998596",
        bearer_token="test-bearer", api_base_url=fake.url, poll_interval=60, **changes,  # type: ignore[arg-type]
    )  # fmt: skip
    return XConnector(config)


def reply(
    text: str, thread_key: str = "conv:1", reply_to: str = "", split: bool = False
) -> OutboundMessage:
    return OutboundMessage(
        channel=Channel.TWITTER, account="x-port-argent", conversation_id=1, message_id=1,
        thread_key=thread_key, recipient=Author("4242"), text=text, reply_to_external_id=reply_to,
        metadata={"split": "1"} if split else {},
    )  # fmt: skip


async def test_recorded_mentions_all_arrive_across_pages_oldest_first(
    fake_x: FakeX, sink: MemorySink, cursors: MemoryCursors
) -> None:
    for tweet in recorded_mentions():
        fake_x.add_mention(tweet["text"], tweet_id=tweet["id"])
    x = connector(fake_x)
    await x.poll_once(sink, cursors)
    ids = [m.external_id for m in sink.messages]
    assert ids == sorted((t["id"] for t in recorded_mentions()), key=int)
    assert cursors.values["since_id"] == ids[-1]
    assert (
        len([r for r in fake_x.requests if r[1].endswith("/mentions")]) == 2
    )  # 10 tweets, pages of 5
    first = sink.messages[0]
    assert first.author.handle == "@visitor" and first.thread_key == f"conv:{first.external_id}"
    assert x.status.counters["items_today"] == 10


async def test_nothing_is_read_twice_and_a_restart_resumes(
    fake_x: FakeX, sink: MemorySink, cursors: MemoryCursors
) -> None:
    fake_x.add_mention("@PortArgentOT le phare ?")
    await connector(fake_x).poll_once(sink, cursors)
    fake_x.add_mention("@PortArgentOT et la marée ?")
    restarted = connector(fake_x)  # a new process, the same cursors
    await restarted.poll_once(sink, cursors)
    assert [m.text for m in sink.messages] == [
        "@PortArgentOT le phare ?",
        "@PortArgentOT et la marée ?",
    ]
    since = [r[2].get("since_id") for r in fake_x.requests if r[1].endswith("/mentions")]
    assert since[0] is None and since[-1] == sink.messages[0].external_id
    await restarted.poll_once(sink, cursors)
    assert len(sink.messages) == 2 and restarted.status.counters["items_today"] == 1 + 0


async def test_the_cursor_stays_behind_what_the_inbox_could_not_store(
    fake_x: FakeX, sink: MemorySink, cursors: MemoryCursors
) -> None:
    first = fake_x.add_mention("one")
    second = fake_x.add_mention("two")
    sink.fail_on = second
    x = connector(fake_x)
    with pytest.raises(ConnectionError):
        await x.poll_once(sink, cursors)
    assert cursors.values["since_id"] == first
    sink.fail_on = None
    await x.poll_once(sink, cursors)
    assert [m.text for m in sink.messages] == ["one", "two"]


async def test_a_429_waits_for_the_reset_time(
    fake_x: FakeX, sink: MemorySink, cursors: MemoryCursors
) -> None:
    reset = int(time.time()) + 600
    fake_x.failures.append((429, reset))
    x = connector(fake_x)
    delay = await x.poll_once(sink, cursors)
    assert reset - time.time() - 2 <= delay <= reset - time.time() + 1
    assert x.status.state == "rate_limited" and "rate-limited until" in x.status.detail
    assert len(fake_x.requests) == 1  # no retry storm


async def test_server_errors_back_off_and_recover(
    fake_x: FakeX, sink: MemorySink, cursors: MemoryCursors
) -> None:
    fake_x.add_mention("still there?")
    fake_x.failures += [
        (503, {"title": "Service Unavailable"}),
        (503, {"title": "Service Unavailable"}),
    ]
    x = connector(fake_x)
    first = await x.poll_once(sink, cursors)
    second = await x.poll_once(sink, cursors)
    assert 60 <= first <= 120 and 120 <= second <= 240  # exponential, with jitter
    assert x.status.state == "error"
    assert await x.poll_once(sink, cursors) == 60
    assert [m.text for m in sink.messages] == ["still there?"] and x.status.state == "polling"


@pytest.mark.parametrize(
    ("status", "body", "state", "detail"),
    [
        (401, {"title": "Unauthorized"}, "error", "credentials revoked"),
        (200, "{not json", "error", "unavailable"),
        (200, '{"data": {"id": "1"}}', "error", "unavailable"),
    ],
)
async def test_bad_answers_get_a_status_never_a_crash(
    fake_x: FakeX,
    sink: MemorySink,
    cursors: MemoryCursors,
    status: int,
    body: object,
    state: str,
    detail: str,
) -> None:
    fake_x.failures.append((status, body))
    x = connector(fake_x)
    await x.poll_once(sink, cursors)
    assert x.status.state == state and detail in x.status.detail
    assert sink.messages == [] and "since_id" not in cursors.values


async def test_an_error_inside_a_200_and_missing_expansions(
    fake_x: FakeX, sink: MemorySink, cursors: MemoryCursors
) -> None:
    fake_x.failures.append(
        (200, {"data": [{"id": "77", "text": "🌊 שלום", "author_id": "999"}],
               "errors": [{"title": "Not Found Error", "detail": "tweet 76 was deleted"}],
               "meta": {"result_count": 1}})
    )  # fmt: skip
    x = connector(fake_x)
    await x.poll_once(sink, cursors)
    (message,) = sink.messages
    assert (
        message.text == "🌊 שלום"
        and message.author.external_id == "999"
        and message.author.handle == ""
    )


async def test_direct_messages_one_conversation_per_participant(
    fake_x: FakeX, sink: MemorySink, cursors: MemoryCursors
) -> None:
    fake_x.add_dm("Bonjour, perdu mon sac", sender="4242")
    fake_x.add_dm("our own reply", sender="1072250532645998596")
    x = connector(fake_x)
    await x.poll_once(sink, cursors)
    fake_x.add_dm("Merci !", sender="4242")
    await x.poll_once(sink, cursors)
    assert [(m.text, m.thread_key) for m in sink.messages] == [
        ("Bonjour, perdu mon sac", "dm:4242"),
        ("Merci !", "dm:4242"),
    ]


async def test_replies_land_in_the_thread(fake_x: FakeX) -> None:
    x = connector(fake_x)
    result = await x.send(reply("Oui, jusqu'à 22 h.", reply_to="1578516295611748353"))
    assert result.ok and result.external_ids
    assert fake_x.posted[-1]["reply"] == {"in_reply_to_tweet_id": "1578516295611748353"}
    dm = await x.send(reply("Bien reçu.", thread_key="dm:4242"))
    assert dm.ok and fake_x.posted[-1]["dm_to"] == "4242"


async def test_long_answers_are_refused_or_threaded(fake_x: FakeX) -> None:
    x = connector(fake_x)
    text = "x" * 281
    refused = await x.send(reply(text, reply_to="5"))
    assert not refused.ok and not refused.retryable and "281/280" in refused.error
    long = " ".join(["plage"] * 100)
    threaded = await x.send(reply(long, reply_to="5", split=True))
    assert threaded.ok and len(threaded.external_ids) == 3
    chain = [p["reply"]["in_reply_to_tweet_id"] for p in fake_x.posted[-3:]]
    assert chain == ["5", *threaded.external_ids[:2]]  # each part answers the previous one


async def test_failed_posts_say_why_and_whether_to_retry(fake_x: FakeX) -> None:
    x = connector(fake_x)
    fake_x.failures.append((503, {"title": "Service Unavailable"}))
    unavailable = await x.send(reply("hello", reply_to="5"))
    assert not unavailable.ok and unavailable.retryable
    fake_x.failures.append((403, {"title": "Forbidden", "detail": "You are not allowed to reply."}))
    forbidden = await x.send(reply("hello", reply_to="5"))
    assert not forbidden.ok and not forbidden.retryable and "403" in forbidden.error
