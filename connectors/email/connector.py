"""EmailConnector: one mailbox behind the :class:`connectors.base.Connector` protocol."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from connectors.base import (
    Channel,
    ConnectorStatus,
    CursorStore,
    DeliveryResult,
    InboundSink,
    OutboundMessage,
)
from connectors.email.compose import build_reply
from connectors.email.config import MailboxConfig
from connectors.email.receiver import Quarantine, Receiver
from connectors.email.smtp import append_sent, send_mail

log = logging.getLogger(__name__)


class EmailConnector:
    """Receives a mailbox into the app (``run``) and sends advisers' replies from it (``send``).

    ``on_quarantine(raw, reason)`` (sync or async) receives the raw bytes of a mail that could
    not be turned into an InboundMessage; the cursor moves past it so one bad mail never
    blocks the mailbox. ``status`` is what an admin sees; it never contains a secret.
    """

    channel = Channel.EMAIL

    def __init__(self, config: MailboxConfig, *, on_quarantine: Quarantine | None = None) -> None:
        self.config = config
        self.account = config.account
        self.status = ConnectorStatus()
        self._receiver = Receiver(config, self.status, on_quarantine)

    def __repr__(self) -> str:
        return f"EmailConnector(account={self.account!r}, address={self.config.address!r})"

    async def run(self, sink: InboundSink, cursors: CursorStore) -> None:
        """Receive until cancelled; survives server, network and parsing failures."""
        await self._receiver.run(sink, cursors)

    async def send(self, message: OutboundMessage) -> DeliveryResult:
        """Sends the reply, then keeps a copy in the Sent folder (best effort)."""
        try:
            mail = build_reply(self.config, message)
        except ValueError as exc:
            self._count("send_failed")
            # build_reply refuses only a recipient address no mail can be written to.
            address = message.recipient.handle or message.recipient.external_id
            return DeliveryResult.failed("email.bad_address", str(exc), address=address[:80])
        result = await send_mail(self.config, mail)
        if not result.ok:
            self._count("send_failed")
            self.status.last_error_at = datetime.now(UTC)
            return result
        self._count("sent")
        if await append_sent(self.config, mail):
            self._count("sent_copies")
        return result

    def _count(self, name: str) -> None:
        self.status.counters[name] = self.status.counters.get(name, 0) + 1
