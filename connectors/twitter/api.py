"""tweepy's Client, pointed at ``api_base_url`` (tests run a local fake of the X API there), with
the raw responses kept so the rate-limit headers can be read."""

from __future__ import annotations

from typing import Any

import requests
import tweepy
from requests.adapters import HTTPAdapter

from connectors.twitter.config import TWEEPY_HOST, XAccountConfig


class RewritingAdapter(HTTPAdapter):
    """Sends what tweepy addresses to its built-in host to another base URL instead."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")

    def send(
        self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
    ) -> requests.Response:
        if request.url and request.url.startswith(TWEEPY_HOST):
            request.url = self.base_url + request.url[len(TWEEPY_HOST) :]
        return super().send(request, *args, **kwargs)


def make_client(config: XAccountConfig) -> tweepy.Client:
    client = tweepy.Client(
        bearer_token=config.bearer_token.get_secret_value(),
        consumer_key=config.consumer_key.get_secret_value() or None,
        consumer_secret=config.consumer_secret.get_secret_value() or None,
        access_token=config.access_token.get_secret_value() or None,
        access_token_secret=config.access_token_secret.get_secret_value() or None,
        return_type=requests.Response,
        wait_on_rate_limit=False,  # we schedule around limits ourselves: never block a thread
    )
    if config.api_base_url.rstrip("/") != TWEEPY_HOST:
        client.session.mount(TWEEPY_HOST, RewritingAdapter(config.api_base_url))
    return client


def rate_limit(response: requests.Response | None) -> tuple[int | None, int | None]:
    """(remaining, reset epoch seconds) from the response's x-rate-limit headers."""
    if response is None:
        return None, None

    def number(name: str) -> int | None:
        try:
            return int(response.headers.get(name, ""))
        except ValueError:
            return None

    return number("x-rate-limit-remaining"), number("x-rate-limit-reset")
