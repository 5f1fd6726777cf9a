"""Passwords (argon2), server-side sessions, CSRF tokens and signed visitor tokens."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from pwdlib import PasswordHash
from pwdlib.exceptions import UnknownHashError
from redis.asyncio import Redis

from app import keys

_hasher = PasswordHash.recommended()  # argon2id


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return _hasher.verify(password, password_hash)
    except (ValueError, UnknownHashError):
        return False


# A hash to verify against when the e-mail is unknown, so both cases take the same time.
DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def password_stamp(password_hash: str) -> str:
    """A short fingerprint of a password hash, kept in each session: a session opened before
    the password changed no longer matches its user (app.deps.session_user)."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class SessionData:
    session_id: str
    user_id: int
    csrf: str
    stamp: str = ""  # password_stamp() at sign-in ("" in sessions opened before stamps: ended)


class SessionStore:
    """Sessions live in Redis: logging out or disabling a user ends them at once."""

    def __init__(self, redis: Redis, max_age: int) -> None:
        self.redis = redis
        self.max_age = max_age

    async def create(self, user_id: int, stamp: str) -> SessionData:
        data = SessionData(secrets.token_urlsafe(32), user_id, secrets.token_urlsafe(32), stamp)
        payload = json.dumps({"user_id": user_id, "csrf": data.csrf, "stamp": stamp})
        now = time.time()
        index = keys.user_sessions(user_id)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(keys.session(data.session_id), payload, ex=self.max_age)
            pipe.zadd(index, {data.session_id: now + self.max_age})
            pipe.zremrangebyscore(index, "-inf", now)  # sessions that lapsed by themselves
            pipe.expire(index, self.max_age)
            await pipe.execute()
        return data

    async def get(self, session_id: str | None) -> SessionData | None:
        if not session_id or len(session_id) > 128:
            return None
        raw = await self.redis.get(keys.session(session_id))
        if raw is None:
            return None
        payload = json.loads(raw)
        return SessionData(
            session_id,
            int(payload["user_id"]),
            str(payload["csrf"]),
            str(payload.get("stamp", "")),
        )

    async def restamp(self, session_id: str, stamp: str) -> None:
        """Gives a session its user's new password stamp (the browser that changed it), its
        lifetime unchanged; nothing when it has ended."""
        data = await self.get(session_id)
        if data is None:
            return
        payload = json.dumps({"user_id": data.user_id, "csrf": data.csrf, "stamp": stamp})
        await self.redis.set(keys.session(session_id), payload, keepttl=True, xx=True)

    async def delete(self, session_id: str) -> SessionData | None:
        """Ends one session; returns what it was (None if it had already ended)."""
        data = await self.get(session_id)
        await self.redis.delete(keys.session(session_id))
        if data is not None:
            await self.redis.zrem(keys.user_sessions(data.user_id), session_id)
        return data

    async def delete_user(self, user_id: int) -> int:
        """Ends every session of a user (disabled); returns how many were open."""
        index = keys.user_sessions(user_id)
        ids: list[Any] = list(await self.redis.zrange(index, 0, -1))
        # One DEL per key: session keys carry no common hash tag (Redis Cluster).
        async with self.redis.pipeline(transaction=False) as pipe:
            for session_id in ids:
                pipe.delete(keys.session(_text(session_id)))
            pipe.delete(index)
            results = await pipe.execute()
        return sum(int(n) for n in results[:-1])

    async def delete_others(self, user_id: int, keep: str) -> list[str]:
        """Ends every session of a user but ``keep`` (a password changed from it); returns the
        ids of those that were open."""
        index = keys.user_sessions(user_id)
        members: list[Any] = list(await self.redis.zrange(index, 0, -1))
        ids = [_text(m) for m in members if _text(m) != keep]
        if not ids:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for session_id in ids:
                pipe.delete(keys.session(session_id))
            pipe.zrem(index, *ids)
            results = await pipe.execute()
        return [i for i, n in zip(ids, results[:-1], strict=True) if int(n)]


def session_tag(session_id: str) -> str:
    """A session's name in live events: a hash, since the stream is no place for the id."""
    return hashlib.sha256(session_id.encode()).hexdigest()[:32]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def same_token(a: str | None, b: str | None) -> bool:
    """Compares two secrets in constant time; any text may come in (compare_digest refuses
    non-ASCII str, so both are compared as UTF-8 bytes)."""
    if not a or not b:
        return False
    return hmac.compare_digest(str(a).encode("utf-8", "replace"), str(b).encode("utf-8", "replace"))


class VisitorTokenError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # "expired" | "invalid"


@dataclass(frozen=True, slots=True)
class VisitorIdentity:
    account: str
    visitor_id: str


class VisitorTokens:
    """A visitor's identity for one chat widget, signed so it cannot be forged or moved."""

    def __init__(self, secret: str, max_age: int) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="concierge.visitor")
        self.max_age = max_age

    def issue(self, account: str, visitor_id: str | None = None) -> tuple[str, VisitorIdentity]:
        identity = VisitorIdentity(account, visitor_id or secrets.token_urlsafe(18))
        token = self._serializer.dumps({"a": identity.account, "v": identity.visitor_id})
        return token, identity

    def read(self, token: str | None) -> VisitorIdentity:
        if not token or len(token) > 512:
            raise VisitorTokenError("invalid")
        try:
            data = self._serializer.loads(token, max_age=self.max_age)
        except SignatureExpired as exc:
            raise VisitorTokenError("expired") from exc
        except BadSignature as exc:
            raise VisitorTokenError("invalid") from exc
        if not isinstance(data, dict) or not isinstance(data.get("a"), str):
            raise VisitorTokenError("invalid")
        return VisitorIdentity(str(data["a"]), str(data["v"]))
