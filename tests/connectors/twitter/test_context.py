"""The tweet in context: its link, language, quoted tweet, expanded links, media and the
author's profile, from the fake X API (through tweepy) and from crafted pages."""

from __future__ import annotations

from datetime import UTC, datetime

from connectors.twitter.mapping import direct_message, mention, page
from tests.connectors.twitter.test_poll import later

READ = datetime(2026, 12, 3, 14, 0, tzinfo=UTC)


async def test_a_mention_with_photos_links_a_quote_and_its_authors_profile(
    fake_x, make_connector, sink, cursors
):
    fake_x.add_user("4242", "ana_voyage", "Ana 🌍", followers=15230, verified=True)
    original = fake_x.add_tweet("Marée haute à 18 h &amp; coefficient 110 https://t.co/abcdef", "777", "phare_fan")  # fmt: skip
    photo, clip = fake_x.add_media("photo"), fake_x.add_media("video")
    tweet = fake_x.add_mention(
        "@PortArgentOT on peut visiter ? https://t.co/zzz111 &lt;3", author="4242",
        quote_of=original, media=[photo, clip], lang="fr",
    )  # fmt: skip
    x = make_connector(direct_messages=False)
    await x.poll_once(sink, cursors)
    [message] = sink.messages
    assert message.text == "@PortArgentOT on peut visiter ? https://example.org/zzz111 <3"
    assert message.details["url"] == f"https://x.com/ana_voyage/status/{tweet}"
    assert message.details["lang"] == "fr"
    assert message.details["links"] == [
        {"url": "https://t.co/zzz111", "expanded": "https://example.org/zzz111",
         "display": "https://example.org/zzz111"},
    ]  # fmt: skip
    assert message.details["quoted"] == {
        "id": original, "url": f"https://x.com/phare_fan/status/{original}",
        "text": "Marée haute à 18 h & coefficient 110 https://example.org/abcdef", "author": "@phare_fan",
    }  # fmt: skip
    photo_file, video_file = message.attachments
    assert photo_file.url == fake_x.media[photo]["url"] and photo_file.content_type == "image/jpeg"
    assert video_file.url.endswith("/1280x720.mp4") and video_file.content_type == "video/mp4"
    assert {a.size for a in message.attachments} == {0} and photo_file.data is None
    assert photo_file.filename.endswith(".jpg")
    assert dict(message.author.profile) == {
        "name": "Ana 🌍", "username": "ana_voyage", "verified": "1", "followers": "15230",
        "url": "https://x.com/ana_voyage",
    }  # fmt: skip
    assert message.sent_at is not None and message.received_at >= message.sent_at


async def test_a_dm_with_a_photo_and_a_gif(fake_x, make_connector, sink, cursors):
    photo, gif = fake_x.add_media("photo"), fake_x.add_media("animated_gif")
    event = fake_x.add_dm("Voici mon billet", sender="4242", username="ana", media=[photo, gif])
    x = make_connector()
    await x.poll_once(sink, cursors)
    [message] = sink.messages
    assert message.thread_key == "dm:4242" and message.external_id == f"dm:{event}"
    assert message.details["dm"] is True
    assert message.details["url"] == f"https://x.com/messages/4242-{fake_x.me}"
    assert [a.url for a in message.attachments] == [
        fake_x.media[photo]["url"], fake_x.media[gif]["variants"][-1]["url"],
    ]  # fmt: skip
    assert message.author.profile["username"] == "ana"
    params = fake_x.calls("/dm_events")[0].params
    assert "attachments.media_keys" in params["expansions"].split(",")


async def test_times_far_from_now_are_only_the_senders_date(
    fake_x, make_connector, sink, cursors, vtime
):
    future = fake_x.add_mention("@PortArgentOT du futur", created_at="2031-01-01T00:00:00.000Z")
    old = fake_x.add_mention("@PortArgentOT de 2009", created_at="2009-05-01T08:00:00.000Z")
    x = make_connector()
    await x.poll_once(sink, cursors)
    read = datetime.fromtimestamp(vtime.now, UTC)
    assert {m.external_id: m.received_at for m in sink.messages} == {future: read, old: read}
    assert sink.by_id[future].sent_at == datetime(2031, 1, 1, tzinfo=UTC)
    assert sink.by_id[old].sent_at == datetime(2009, 5, 1, 8, tzinfo=UTC)
    fake_x.add_dm("plus tard")
    await later(x, sink, cursors, vtime)
    assert sink.messages[-1].received_at == datetime.fromtimestamp(vtime.now, UTC)


def test_withheld_protected_and_missing_users_in_a_crafted_page():
    quoting = {"id": "1900000000000000001", "text": "look https://t.co/pic999", "author_id": "1",
               "referenced_tweets": [{"type": "quoted", "id": "1800000000000000000"}],
               "attachments": {"media_keys": ["3_gone"]},
               "entities": {"urls": [{"start": 5, "end": 28, "url": "https://t.co/pic999",
                                      "expanded_url": "https://twitter.com/u/status/1900000000000000001/photo/1",
                                      "display_url": "pic.twitter.com/xyz"}]}}  # fmt: skip
    protected = {
        "data": [quoting],
        "errors": [{"value": "1800000000000000000", "detail": "Sorry, you are not authorized to see the Tweet with id: [1800000000000000000].",
                    "title": "Authorization Error", "resource_type": "tweet", "parameter": "referenced_tweets.id",
                    "resource_id": "1800000000000000000", "type": "https://api.twitter.com/2/problems/not-authorized-for-resource"}],
    }  # fmt: skip
    message = mention(quoting, page(protected), "x-test", READ)
    assert message.details["quoted"] == {"id": "1800000000000000000", "unavailable": True}
    assert message.text == "look"  # the photo's own link is not text; the photo is gone
    assert message.attachments == () and "links" not in message.details
    assert message.author.profile == {} and message.author.external_id == "1"
    assert message.details["url"] == "https://x.com/i/web/status/1900000000000000001"
    withheld = {"data": [quoting], "includes": {"tweets": [
        {"id": "1800000000000000000", "text": "", "author_id": "2",
         "withheld": {"copyright": False, "country_codes": ["FR"]}}]}}  # fmt: skip
    assert mention(quoting, page(withheld), "x-test", READ).details["quoted"]["unavailable"]


def test_a_long_post_expands_its_own_links_and_garbled_users_are_ignored():
    tweet = {"id": "1900000000000000002", "text": "début https://t.co/a…", "author_id": "9",
             "note_tweet": {"text": "début https://t.co/aaa111 et la suite",
                            "entities": {"urls": [{"url": "https://t.co/aaa111", "expanded_url": "https://port-argent.example/horaires",
                                                   "display_url": "port-argent.example/horaires"}]}}}  # fmt: skip
    body = {
        "data": [tweet],
        "includes": {"users": [{"id": "9", "username": "bad name", "name": "X"}]},
    }
    message = mention(tweet, page(body), "x-test", READ)
    assert message.text == "début https://port-argent.example/horaires et la suite"
    assert message.details["links"][0]["display"] == "port-argent.example/horaires"
    assert message.author.profile == {}
    assert message.details["url"] == "https://x.com/i/web/status/1900000000000000002"


def test_a_dm_sharing_a_deleted_tweet():
    event = {"id": "1900000000000000003", "event_type": "MessageCreate", "text": "", "sender_id": "5",
             "referenced_tweets": [{"id": "1700000000000000000"}]}  # X gives DMs' no type  # fmt: skip
    message = direct_message(event, page({"data": [event]}), "x-test", READ)
    assert message.details == {
        "dm": True,
        "quoted": {"id": "1700000000000000000", "unavailable": True},
    }
    assert message.text == "" and message.thread_key == "dm:5"


def test_a_short_link_that_starts_another_is_replaced_whole():
    tweet = {"id": "1900000000000000004", "author_id": "1",
             "text": "a https://t.co/abcd b https://t.co/abc c",
             "entities": {"urls": [
                 {"url": "https://t.co/abc", "expanded_url": "https://one.example/"},
                 {"url": "https://t.co/abcd", "expanded_url": "https://two.example/"},
             ]}}  # fmt: skip
    message = mention(tweet, page({"data": [tweet]}), "x-test", READ)
    assert message.text == "a https://two.example/ b https://one.example/ c"
    assert [link["expanded"] for link in message.details["links"]] == [
        "https://one.example/", "https://two.example/",
    ]  # fmt: skip
