"""Sign-in limits: per client address (the looser cap in ``app.web.pages``) and per account.

An account being guessed from many addresses is locked for ``login_account_window_seconds`` once
``login_account_failures`` sign-ins for its e-mail failed within that long of the first one. The
lock lifts by itself; attempts refused while it holds are not counted and do not extend it, and
the password is not even checked then (no guessing through the lock). So an attacker gets at
most that many guesses per two windows, and the user's wait is bounded.

So that an attacker cannot lock the real user out, a browser that signed in to the account
before carries a signed *device cookie* naming it, and passes the account lock (still under
the per-address limit). E-mails of unknown users are counted and locked the same way, so the lock
reveals nothing about which accounts exist; they are keyed by a hash, not stored as such.
"""

from __future__ import annotations

import hashlib

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import HTTPConnection
from starlette.responses import Response

from app import keys
from app.services import Services

DEVICE_COOKIE = "concierge_device"
DEVICE_MAX_AGE = 180 * 24 * 3600


def account_key(email: str) -> str:
    """The e-mail as typed, normalised and hashed (Redis keys are no place for it)."""
    return hashlib.sha256(email.strip().lower().encode("utf-8", "replace")).hexdigest()[:32]


def _failures(email: str) -> str:
    return keys.login_failures(account_key(email))


def _lock(email: str) -> str:
    return keys.login_lock(account_key(email))


def _devices(services: Services) -> URLSafeTimedSerializer:
    secret = services.settings.secret_key.get_secret_value()
    return URLSafeTimedSerializer(secret, salt="concierge.device")


async def locked(services: Services, email: str) -> bool:
    """True while the account is locked after too many failed sign-ins."""
    return bool(await services.redis.exists(_lock(email)))


async def failed(services: Services, email: str) -> None:
    """Counts one failed sign-in for the account; locks it at the limit."""
    window = services.settings.login_account_window_seconds
    async with services.redis.pipeline(transaction=True) as pipe:
        pipe.incr(_failures(email))
        pipe.expire(_failures(email), window, nx=True)  # counted from the first failure
        count, _ = await pipe.execute()
    if int(count) >= services.settings.login_account_failures:
        async with services.redis.pipeline(transaction=True) as pipe:
            pipe.set(_lock(email), 1, ex=window)
            pipe.delete(_failures(email))  # a fresh count once the lock lifts
            await pipe.execute()


def known_device(services: Services, conn: HTTPConnection, user_id: int | None) -> bool:
    """True when this browser signed in to ``user_id`` before (its device cookie says so)."""
    token = conn.cookies.get(DEVICE_COOKIE)
    if user_id is None or not token or len(token) > 256:
        return False
    try:
        data = _devices(services).loads(token, max_age=DEVICE_MAX_AGE)
    except BadSignature:
        return False
    return isinstance(data, dict) and data.get("u") == user_id


def remember_device(services: Services, response: Response, user_id: int) -> None:
    """Marks this browser as one the user signs in from (after a successful sign-in)."""
    response.set_cookie(
        DEVICE_COOKIE,
        _devices(services).dumps({"u": user_id}),
        max_age=DEVICE_MAX_AGE,
        httponly=True,
        samesite="strict",
        secure=services.settings.secure_cookies,
        path="/login",
    )
