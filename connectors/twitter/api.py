"""tweepy's Client, pointed at ``api_base_url`` and given a timeout, with its raw responses kept
so the rate-limit headers can be read, and every failure turned into one :class:`ApiError`.

tweepy hard-codes ``https://api.twitter.com``: a ``requests`` adapter mounted on the client's
session rewrites that prefix (tweepy itself is untouched). tweepy's Client is synchronous, so
calls run in a thread; its AsyncClient builds a new aiohttp session per request with the same
hard-coded host, with no session to hook. Reading and writing use two clients (two sessions):
a reply can go out while a poll is under way.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
import tweepy
from requests.adapters import HTTPAdapter

from connectors.twitter.config import X_API_HOST, XAccountConfig

# Their DEBUG records carry the Authorization header and OAuth parameters: never let them out.
for _name in ("tweepy.client", "oauthlib", "requests_oauthlib"):
    logging.getLogger(_name).setLevel(logging.INFO)


class RewritingAdapter(HTTPAdapter):
    """Sends what tweepy addresses to X's host to ``base_url`` instead, with a timeout."""

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def send(
        self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
    ) -> requests.Response:
        if request.url and request.url.startswith(X_API_HOST):
            request.url = self.base_url + request.url[len(X_API_HOST) :]
        if kwargs.get("timeout") is None:  # tweepy sets none: a hung server would hang a thread
            kwargs["timeout"] = self.timeout
        return super().send(request, *args, **kwargs)


def make_client(config: XAccountConfig, *, bearer: str) -> tweepy.Client:
    client = tweepy.Client(
        bearer_token=bearer or None,
        consumer_key=config.consumer_key.get_secret_value() or None,
        consumer_secret=config.consumer_secret.get_secret_value() or None,
        access_token=config.access_token.get_secret_value() or None,
        access_token_secret=config.access_token_secret.get_secret_value() or None,
        return_type=requests.Response,
        wait_on_rate_limit=False,  # we schedule around limits ourselves: never block a thread
    )
    client.session.mount(X_API_HOST, RewritingAdapter(config.api_base_url, config.request_timeout))
    return client


@dataclass(frozen=True, slots=True)
class RateLimit:
    limit: int | None
    remaining: int | None
    reset: float | None  # epoch seconds


def rate_limit(response: requests.Response | None) -> RateLimit:
    """What the response's ``x-rate-limit-*`` headers say (None where absent or garbled)."""

    def number(name: str) -> int | None:
        if response is None:
            return None
        try:
            return int(response.headers.get(name, ""))
        except ValueError:
            return None

    reset = number("x-rate-limit-reset")
    return RateLimit(
        number("x-rate-limit-limit"),
        number("x-rate-limit-remaining"),
        float(reset) if reset is not None else None,
    )


class Failure(enum.StrEnum):
    RATE_LIMITED = "rate_limited"  # 429: wait for the reset time
    AUTH = "auth"  # 401/403: the tokens were revoked or lack a permission
    REFUSED = "refused"  # another 4xx: this request will never work as it is
    UNAVAILABLE = "unavailable"  # 5xx, timeouts, connection errors: back off, retry
    MALFORMED = "malformed"  # a 2xx we cannot read: back off, retry


class ApiError(Exception):
    def __init__(
        self,
        failure: Failure,
        reason: str,
        *,
        status: int | None = None,
        limits: RateLimit | None = None,
    ) -> None:
        super().__init__(reason)
        self.failure = failure
        self.reason = reason
        self.status = status
        self.limits = limits or RateLimit(None, None, None)

    @property
    def retryable(self) -> bool:
        return self.failure in (Failure.RATE_LIMITED, Failure.UNAVAILABLE, Failure.MALFORMED)


@dataclass(frozen=True, slots=True)
class Answer:
    body: dict[str, Any]
    limits: RateLimit


def _reason(exc: tweepy.HTTPException) -> str:
    messages = [str(m)[:200] for m in getattr(exc, "api_messages", []) or []]
    return "; ".join(messages)[:300] or str(getattr(exc.response, "reason", "")) or "no reason"


async def call(
    method: Callable[..., requests.Response], *, within: float | None = None, **kwargs: Any
) -> Answer:
    """One request through tweepy, in a thread; its JSON object and rate-limit state.

    ``within`` (seconds) bounds the whole request: requests' own timeout is per socket
    operation, and a server trickling its answer a byte at a time would never trip it. The
    thread may finish later on its own; its answer is dropped.
    """
    try:
        response = await asyncio.wait_for(asyncio.to_thread(method, **kwargs), within)
    except TimeoutError as exc:
        raise ApiError(Failure.UNAVAILABLE, "no answer in time") from exc
    except tweepy.TooManyRequests as exc:
        raise ApiError(
            Failure.RATE_LIMITED, "rate limit reached", status=429, limits=rate_limit(exc.response)
        ) from exc
    except (tweepy.Unauthorized, tweepy.Forbidden) as exc:
        status = exc.response.status_code
        raise ApiError(Failure.AUTH, _reason(exc), status=status) from exc
    except tweepy.TwitterServerError as exc:
        status = exc.response.status_code
        raise ApiError(Failure.UNAVAILABLE, f"server error {status}", status=status) from exc
    except tweepy.HTTPException as exc:
        status = exc.response.status_code
        raise ApiError(Failure.REFUSED, _reason(exc), status=status) from exc
    except requests.Timeout as exc:
        raise ApiError(Failure.UNAVAILABLE, "no answer in time") from exc
    except requests.RequestException as exc:
        raise ApiError(Failure.UNAVAILABLE, f"network error ({type(exc).__name__})") from exc
    limits = rate_limit(response)
    try:
        body = response.json()
    except ValueError as exc:  # also a body cut short
        raise ApiError(Failure.MALFORMED, "the answer is not JSON", limits=limits) from exc
    if not isinstance(body, dict):
        raise ApiError(Failure.MALFORMED, "the answer is not a JSON object", limits=limits)
    return Answer(body, limits)
