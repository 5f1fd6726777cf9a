"""The real recorded X API responses parse, and map to inbound messages."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.base import Channel
from connectors.twitter.mapping import direct_message, mention, page
from tests.support.fake_x import CORPUS

READ = datetime(2026, 12, 3, 14, 0, tzinfo=UTC)  # when the poller read the page


def recorded_bodies():
    for path in sorted(Path(CORPUS).glob("*.json")):
        for n, interaction in enumerate(json.loads(path.read_text())["interactions"]):
            if interaction["request"]["method"] == "GET":
                yield pytest.param(interaction["response"], id=f"{path.stem}-{n}")


@pytest.mark.parametrize("response", list(recorded_bodies()))
def test_every_recorded_get_response_parses(response):
    body = response["body"]
    if isinstance(body.get("data"), dict):  # a single-tweet lookup: not a page
        body = {**body, "data": [body["data"]]}
    parsed = page(body)
    assert len(parsed.items) == body.get("meta", {}).get("result_count", len(parsed.items))
    for item in parsed.items:
        if "/dm_" in str(response) or item.get("event_type"):
            message = direct_message(item, parsed, "x-test", READ)
            assert message.external_id == f"dm:{item['id']}"
        else:
            message = mention(item, parsed, "x-test", READ)
            assert message.thread_key == f"conv:{item['id']}"  # no conversation_id asked
        assert message.channel == Channel.TWITTER and message.received_at == READ
        assert message.sent_at is not None and message.sent_at < READ
        # t.co links become the addresses they stand for only when X gave the entities
        assert message.text == item["text"]


def test_the_empty_recorded_dm_page_has_no_data_key():
    body = json.loads((Path(CORPUS) / "test_manage_and_lookup_direct_messages.json").read_text())
    empty = body["interactions"][3]["response"]["body"]
    assert "data" not in empty and page(empty).items == [] and page(empty).next_token is None


def test_the_recorded_mentions_page_has_a_next_token_and_times_from_snowflakes():
    body = json.loads((Path(CORPUS) / "test_client_get_users_mentions.json").read_text())
    parsed = page(body["interactions"][0]["response"]["body"])
    assert parsed.next_token == "7140dibdnow9c7btw423i3sy3u5zupmkcpofxcsmxj48j"
    message = mention(parsed.items[0], parsed, "x-test", READ)
    assert message.sent_at is not None
    assert message.sent_at.isoformat().startswith("2022-10-07T22:4")
    assert message.received_at == READ  # arrival: when it was read, not the tweet's date
    assert message.details["url"] == f"https://x.com/i/web/status/{parsed.items[0]['id']}"
    assert message.author.external_id == f"unknown:{parsed.items[0]['id']}"


def test_a_long_post_keeps_its_full_text_and_a_language_is_a_tag():
    tweet = {"id": "1800000000000000000", "text": "début…", "note_tweet": {"text": "début " + "x" * 300},
             "lang": "und", "author_id": "1", "created_at": "not a date"}  # fmt: skip
    message = mention(tweet, page({"data": [tweet]}), "x-test", READ)
    assert message.text.startswith("début x") and len(message.text) > 300
    assert message.author.language == "" and "lang" not in message.details
    assert message.sent_at is not None
    assert message.sent_at.year == 2024  # from the snowflake: created_at was garbled


def test_without_a_read_time_the_arrival_is_now():
    tweet = {"id": "1300000000000000000", "text": "vieux", "created_at": "2020-08-27T12:00:00.000Z"}
    before = datetime.now(UTC)
    message = mention(tweet, page({"data": [tweet]}), "x-test")
    assert before <= message.received_at <= datetime.now(UTC)
    assert message.sent_at == datetime(2020, 8, 27, 12, tzinfo=UTC)
