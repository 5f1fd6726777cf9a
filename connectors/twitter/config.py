"""An X account's settings. Tokens are secrets: never shown in a repr, a log or a status.

Reading mentions uses the app's bearer token; reading and sending DMs and posting replies need
a user context: OAuth 1.0a (consumer key and secret, access token and secret) or an OAuth 2.0
user access token (Authorization Code with PKCE, scopes tweet.read tweet.write users.read
dm.read dm.write).

Default polling, against X's documented limits (docs.x.com, "X API rate limits"):

* ``GET /2/users/:id/mentions``: 450 requests / 15 min per app, 300 / 15 min per user.
* ``GET /2/dm_events``: 300 requests / 15 min per user, shared by the DM lookup endpoints.
* ``POST /2/tweets``: 100 / 15 min per user (10,000 / 24 h per app);
  ``POST /2/dm_conversations/with/:id/messages``: 200 / 15 min per user (recorded headers).

One poll every 60 s makes 15 requests per 15 min on each read endpoint (60 an hour): 5 % of
the per-user limits, leaving room for pagination after a burst and for other tools on the
same account. Older tiers listed as few as 10–15 requests / 15 min: the poller reads the
``x-rate-limit-*`` headers and stretches its interval to fit whatever the account is given.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

X_API_HOST = "https://api.twitter.com"  # where tweepy sends everything
TWEEPY_HOST = X_API_HOST
DEFAULT_POLL_INTERVAL = 60.0
MENTIONS_LIMIT_PER_15_MIN = {"app": 450, "user": 300}
DM_EVENTS_LIMIT_PER_15_MIN = {"user": 300}


class XAccountConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    account: str = Field(min_length=1)
    handle: str = Field(min_length=1, max_length=50)
    user_id: str = Field(pattern=r"^\d{1,25}$")
    bearer_token: SecretStr  # app-only: the mentions timeline
    consumer_key: SecretStr = SecretStr("")
    consumer_secret: SecretStr = SecretStr("")
    access_token: SecretStr = SecretStr("")
    access_token_secret: SecretStr = SecretStr("")
    oauth2_user_token: SecretStr = SecretStr("")  # instead of OAuth 1.0a, for DMs and posting
    api_base_url: str = X_API_HOST  # the app maps the setting X_API_BASE_URL here
    poll_interval: float = Field(default=DEFAULT_POLL_INTERVAL, gt=0)
    direct_messages: bool = True
    max_backoff: float = Field(default=900, gt=0)  # seconds, after server or network errors
    # Refused credentials (401, or a 403 that is not about one tweet): the first retry after
    # ``auth_backoff`` seconds, doubling up to ``auth_max_backoff``, so that tokens fixed by an
    # administrator are picked up within minutes, never a quarter of an hour later.
    auth_backoff: float = Field(default=5, gt=0)
    auth_max_backoff: float = Field(default=300, gt=0)
    # Seconds one HTTP request may take in all (connect, wait, read): a hung timeline gives up
    # then; the other timeline never waits for it (each is polled on its own).
    request_timeout: float = Field(default=20, gt=0)
    # On the very first start (no cursor yet) read at most this many of the newest items of
    # each timeline: reads are paid per item, and an old backlog is rarely still a question.
    backfill: int = Field(default=100, ge=0, le=800)

    @property
    def user_context(self) -> Literal["oauth1", "oauth2"] | None:
        """Which user credentials can post and read DMs, if any."""
        oauth1 = (self.consumer_key, self.consumer_secret, self.access_token)
        if all(s.get_secret_value() for s in (*oauth1, self.access_token_secret)):
            return "oauth1"
        if self.oauth2_user_token.get_secret_value():
            return "oauth2"
        return None
