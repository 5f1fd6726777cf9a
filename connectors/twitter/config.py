"""An X account's settings. Tokens are secrets: never shown, never logged.

Default polling stays well inside X's per-user limits: the mentions timeline allows 180
requests per 15 minutes with a user token (450 with an app token) and DM events 300 per
15 minutes; one poll a minute makes 15 of each per 15 minutes.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr

TWEEPY_HOST = "https://api.twitter.com"


class XAccountConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    account: str = Field(min_length=1)
    handle: str = Field(min_length=1, max_length=50)
    user_id: str = Field(pattern=r"^\d{1,25}$")
    bearer_token: SecretStr
    consumer_key: SecretStr = SecretStr("")
    consumer_secret: SecretStr = SecretStr("")
    access_token: SecretStr = SecretStr("")
    access_token_secret: SecretStr = SecretStr("")
    api_base_url: str = TWEEPY_HOST
    poll_interval: float = Field(default=60, gt=0)
    direct_messages: bool = True
    max_backoff: float = Field(default=900, gt=0)
