"""Building connectors: which factory serves which channel, with which settings and secrets.

Connection settings come from the account's ``settings`` (never secret); secrets come from the
environment, ``CONCIERGE_SECRET_<ACCOUNT>_<NAME>``.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from app import quarantine as app_quarantine
from app.models import Account
from app.services import Services
from connectors.base import Connector
from connectors.webchat.connector import WebchatConnector

log = logging.getLogger(__name__)

Factory = Callable[[Account, Services], Connector]
FACTORIES: dict[str, Factory] = {}


class ConfigurationError(ValueError):
    """An account cannot run: its settings are incomplete or a secret is missing.

    ``code`` and ``params`` let the accounts page say it in the manager's language.
    """

    def __init__(self, text: str, code: str = "account.misconfigured", **params: str) -> None:
        super().__init__(text)
        self.code = code
        self.params = params if code != "account.misconfigured" else {"reason": text}


def secret_variable(account_key: str, name: str) -> str:
    return "CONCIERGE_SECRET_" + re.sub(r"[^A-Z0-9]", "_", f"{account_key}_{name}".upper())


def secret(account_key: str, name: str) -> str:
    variable = secret_variable(account_key, name)
    value = os.environ.get(variable, "")
    if not value:
        raise ConfigurationError(
            f"the secret {variable} is not set", "account.secret_missing", variable=variable
        )
    return value


def account_settings(account: Account) -> dict[str, Any]:
    try:
        data = json.loads(account.settings or "{}")
    except ValueError as exc:
        raise ConfigurationError(
            "the account's settings are not valid JSON", "account.settings_not_json"
        ) from exc
    if not isinstance(data, dict):
        raise ConfigurationError(
            "the account's settings must be a JSON object", "account.settings_not_json"
        )
    return data


def quarantine(services: Services, account: str) -> Callable[[bytes, str], Any]:
    """What a connector calls with something it could not read: kept whole, reason logged.

    A reason that carries ``code`` and ``params`` (connectors.email.receiver.QuarantineReason)
    is shown to managers in their language (app.quarantine)."""

    async def keep(
        raw: bytes, reason: str, code: str = "", params: dict[str, str] | None = None
    ) -> None:
        code = code or getattr(reason, "code", "")
        params = params if params is not None else getattr(reason, "params", None)
        await app_quarantine.keep(
            services,
            account,
            raw,
            str(reason),
            code if isinstance(code, str) else "",
            params if isinstance(params, dict) else None,
        )

    return keep


def _email(account: Account, services: Services) -> Connector:
    from connectors.email.config import MailboxConfig
    from connectors.email.connector import EmailConnector

    data = account_settings(account)
    try:
        smtp_password = secret(account.key, "smtp_password") if data.get("smtp_user") else ""
        config = MailboxConfig(
            **{**data, "account": account.key},
            imap_password=secret(account.key, "imap_password"),
            smtp_password=smtp_password,
        )
    except ValidationError as exc:
        raise ConfigurationError(readable(exc)) from None
    return EmailConnector(config, on_quarantine=quarantine(services, account.key))


def readable(exc: ValidationError) -> str:
    """Pydantic's errors as "field: reason" (never echoing a value: it could be a secret)."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc'])}: {str(e['msg']).removeprefix('Value error, ')}"
        for e in exc.errors(include_input=False)
    )


FACTORIES["email"] = _email

X_SECRETS = (
    "consumer_key",
    "consumer_secret",
    "access_token",
    "access_token_secret",
    "oauth2_user_token",
)


def _x(account: Account, services: Services) -> Connector:
    from connectors.twitter.config import XAccountConfig
    from connectors.twitter.connector import XConnector

    data = account_settings(account)
    optional = {name: os.environ.get(secret_variable(account.key, name), "") for name in X_SECRETS}
    try:
        config = XAccountConfig(
            **{
                "request_timeout": services.settings.x_request_timeout,
                **data,
                "account": account.key,
            },
            bearer_token=secret(account.key, "bearer_token"),
            api_base_url=services.settings.x_api_base_url,
            **optional,
        )
    except ValidationError as exc:
        raise ConfigurationError(readable(exc)) from None
    return XConnector(config)


FACTORIES["twitter"] = _x


def built_from(account: Account) -> tuple[str, str, bool]:
    """What an account's connector depends on: its channel, connection settings and whether it
    is active (secrets come from the environment, fixed for the process's life)."""
    return (account.channel, account.settings, account.active)


def connector_for(services: Services, account: Account) -> Connector | None:
    """The account's connector, built on first use (so a newly configured account runs at once
    in every worker) and again once the account changed (settings, disabled, enabled again);
    None when its channel has no factory, it is disabled, or it cannot be built yet."""
    source = built_from(account)
    existing = services.connectors.get(account.key)
    # A connector put there by other means than this function (no source) is kept as it is.
    if existing is not None and services.connector_sources.get(account.key, source) == source:
        return existing
    services.connectors.pop(account.key, None)
    services.connector_sources.pop(account.key, None)
    if account.channel == "webchat":
        connector: Connector = WebchatConnector(account.key)
    else:
        factory = FACTORIES.get(account.channel)
        if factory is None or not account.active:
            return None
        connector = factory(account, services)  # may raise ConfigurationError
    services.connectors[account.key] = connector
    services.connector_sources[account.key] = source
    return connector
