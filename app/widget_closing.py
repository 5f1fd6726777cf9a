"""A chat widget disabled while visitors have it open (``concierge account disable KEY``):
their sockets are closed, on every worker, within a few seconds.

New sockets are refused at admission (4404) and a message sent on an open socket is refused by
the inbox (:class:`app.inbox.ClosedAccountError`) whatever the timing; this sweep closes the
sockets that send nothing, so a visitor does not wait on a chat nobody reads. Each worker
looks at its own sockets only, with one small query, and only while it has visitor sockets.
Closing them with 4404 stops the widget from reconnecting; it says the chat is closed in the
visitor's language (``widget.closed``). Nothing stored is touched.
"""

from __future__ import annotations

import asyncio
import logging

from sqlmodel import col, select

from app.models import Account
from app.services import Services

log = logging.getLogger(__name__)

EVERY_SECONDS = 3.0
CLOSE_CODE = 4404  # as admission refuses a disabled widget: the widget stops reconnecting
CLOSE_REASON = "chat closed"

_DISABLED_WIDGETS = select(Account.destination_id, Account.key).where(
    Account.channel == "webchat", col(Account.active).is_(False)
)


async def close_disabled(services: Services) -> int:
    """Closes this worker's visitor sockets on disabled widgets; how many were closed."""
    if not services.hub.has_visitors():
        return 0
    async with services.db.session(quick=True) as session:
        disabled = (await session.exec(_DISABLED_WIDGETS)).all()
    closed = 0
    for destination_id, key in disabled:
        for listener in services.hub.visitors_of(destination_id, key):
            if not listener.closed:
                listener.end(CLOSE_CODE, CLOSE_REASON)
                closed += 1
    if closed:
        log.info("%d visitor socket(s) of disabled chat widgets closed", closed)
    return closed


async def keep_closing(services: Services, every: float = EVERY_SECONDS) -> None:
    """Forever, every ``every`` seconds: :func:`close_disabled`."""
    while True:
        await asyncio.sleep(every)
        try:
            await close_disabled(services)
        except Exception:  # the database passing away: the next look retries
            log.exception("closing the sockets of disabled chat widgets failed")
