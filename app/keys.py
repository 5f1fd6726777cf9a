"""Every Redis key name, in one place.

Every key carries exactly one hash tag (``{…}``, the part Redis Cluster hashes to pick a slot),
so that the keys one script, transaction, pipeline or ``MGET`` uses together are in one slot:

* ``{d<id>}`` — everything of one destination (its streams, signals channel, presence, locks…);
* ``{s<session id>}`` — one sign-in session; ``{u<user id>}`` — the index of a user's sessions;
* ``{rate:<scope>:<subject>}`` — both windows of one rate limit;
* ``{login:<account hash>}`` — the failure count and the lock of one sign-in account;
* ``{admission}`` — every socket-admission bucket (checked together by one script);
* ``{lease:<name>}`` — each installation-wide lease.

tests/app/test_redis_cluster.py checks both rules. Single-node Redis ignores the tags.
"""

from __future__ import annotations


def _tag(destination_id: int) -> str:
    return f"{{d{destination_id}}}"


def events(destination_id: int) -> str:
    """Stream of every live event of a destination; its entry ids are the clients' resume points."""
    return f"concierge:{_tag(destination_id)}:events"


def signals(destination_id: int) -> str:
    """Pub/sub channel of a destination's ephemeral signals (typing, viewing, presence)."""
    return f"concierge:{_tag(destination_id)}:signals"


def outbox(destination_id: int) -> str:
    """Stream of replies waiting for their connector to send them."""
    return f"concierge:{_tag(destination_id)}:outbox"


def online(destination_id: int) -> str:
    """Sorted set: adviser id → instant (epoch seconds) their presence expires."""
    return f"concierge:{_tag(destination_id)}:online"


def live_visitors(destination_id: int) -> str:
    """Sorted set: "<account id>:<thread key>" of a chat visitor → instant their widget counts
    as closed unless it speaks again."""
    return f"concierge:{_tag(destination_id)}:live-visitors"


def live_visitor_sockets(destination_id: int, member: str) -> str:
    """How many sockets a live chat visitor ("<account id>:<thread key>") has open, on every
    worker: the widget counts as closed when the last one ends."""
    return f"concierge:{_tag(destination_id)}:live-visitor-sockets:{member}"


def assign_lock(destination_id: int, office_id: int) -> str:
    """Held while one worker assigns an office's queue, so per-adviser caps hold."""
    return f"concierge:{_tag(destination_id)}:assign:{office_id}"


def handover_lock(destination_id: int) -> str:
    return f"concierge:{_tag(destination_id)}:handover"


def auto_reply(destination_id: int, account: str, contact_id: int) -> str:
    """Set while a contact has had an automatic reply from an account (RFC 3834 rate limit)."""
    return f"concierge:{_tag(destination_id)}:autoreply:{account}:{contact_id}"


def cursor(destination_id: int, account: str) -> str:
    """Hash of a connector's durable cursors (since_id, UIDVALIDITY/UID…)."""
    return f"concierge:{_tag(destination_id)}:cursor:{account}"


def connector_status(destination_id: int, account: str) -> str:
    return f"concierge:{_tag(destination_id)}:status:{account}"


def session(session_id: str) -> str:
    return f"concierge:{{s{session_id}}}:session"


def user_sessions(user_id: int) -> str:
    """Sorted set: a user's session ids → the instant each expires, so that disabling the user
    can end every one of them."""
    return f"concierge:{{u{user_id}}}:sessions"


def rate(scope: str, subject: str, window: int) -> str:
    """One fixed window's count; a subject's windows share a slot (read together)."""
    return f"concierge:{{rate:{scope}:{_untagged(subject)}}}:{window}"


def login_failures(account: str) -> str:
    """Failed sign-ins of one account (app/login_limits.py: ``account`` is a hash of the
    e-mail), counted from the first failure."""
    return f"concierge:{{login:{account}}}:failures"


def login_lock(account: str) -> str:
    """Set while an account is locked after too many failed sign-ins (same slot as its count:
    both are written in one transaction)."""
    return f"concierge:{{login:{account}}}:locked"


def blocks(destination_id: int) -> str:
    """Hash of a destination's active blocks, mirrored from SQL (app/moderation.py)."""
    return f"concierge:{_tag(destination_id)}:blocks"


def _untagged(text: str) -> str:
    """``text`` with braces escaped, so it cannot end or open a hash tag of its own."""
    return text.replace("%", "%25").replace("{", "%7B").replace("}", "%7D")


OUTBOX_GROUP = "senders"


def rollup_lease() -> str:
    """Held by the worker rebuilding the dashboard's rollups."""
    return "concierge:{lease:rollups}"


def privacy_lease() -> str:
    """Held by the worker running the retention sweep."""
    return "concierge:{lease:privacy}"


def weekly_report_lease() -> str:
    """Held by the worker e-mailing the weekly reports (app/weekly_report_mail.py)."""
    return "concierge:{lease:weekly-report}"


def weekly_report_sent(destination_id: int, week: str, user_id: int) -> str:
    """Set while a manager's report of ``week`` is being sent, then once it has gone."""
    return f"concierge:{_tag(destination_id)}:weekly-report:{week}:{user_id}"


def connector_lease(destination_id: int, account: str) -> str:
    """Held (and renewed every few seconds) by the worker running the account's connector: it
    exists exactly while some worker runs it. app/channels.py spells the same name."""
    return connector_status(destination_id, account) + ":lease"


def presence(destination_id: int, user_id: int) -> str:
    """An adviser's chosen status ("online" or "away"); expires a day after it was set."""
    return f"concierge:{_tag(destination_id)}:presence:{user_id}"


def adviser_sockets(destination_id: int, user_id: int) -> str:
    """How many inbox sockets an adviser has open, on every worker: they go offline when the
    last one ends."""
    return f"concierge:{_tag(destination_id)}:adviser-sockets:{user_id}"


def viewers(destination_id: int, conversation_id: int) -> str:
    """Sorted set: adviser id → instant (epoch seconds) they stop counting as viewing the
    conversation unless their inbox says so again."""
    return f"concierge:{_tag(destination_id)}:viewers:{conversation_id}"


def sweep_lease() -> str:
    """Held by the worker sweeping the queues: hand-overs and assignment (app/main.py)."""
    return "concierge:{lease:sweep}"


def relay_lease() -> str:
    """Held by the worker replaying owed follow-ups of stored messages (app/recovery.py)."""
    return "concierge:{lease:relay}"


def sending(destination_id: int, message_id: int) -> str:
    """Held while one worker sends a reply, so a reply queued twice is never sent twice."""
    return f"concierge:{_tag(destination_id)}:sending:{message_id}"


def conversation_events(destination_id: int, conversation_id: int) -> str:
    """A chat conversation's own events (same entry ids as the destination's stream), capped
    and expiring: what its visitor's socket reads on resuming (app/realtime.py)."""
    return f"concierge:{_tag(destination_id)}:conversation-events:{conversation_id}"


def admission(scope: str, subject: str) -> str:
    """Token bucket of one kind of socket admission (app/socket_guard.py). One hash tag for
    every bucket: a check of several buckets is one script, legal on Redis Cluster."""
    return f"concierge:{{admission}}:{scope}:{subject}"


def visitor_tabs(destination_id: int, visitor_key: str) -> str:
    """How many sockets a visitor token holds open, on every worker (capped)."""
    return f"concierge:{_tag(destination_id)}:visitor-tabs:{visitor_key}"
