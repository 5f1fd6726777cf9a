"""The website chat connector.

Chat frames arrive on the application's websocket endpoint and are parsed by
:mod:`connectors.webchat.frames`; replies reach the visitor through the live event stream the
visitor's socket is subscribed to, so sending is complete once the reply is stored and
published: ``send`` only confirms it.
"""

from __future__ import annotations

from connectors.base import Channel, CursorStore, DeliveryResult, InboundSink, OutboundMessage


class WebchatConnector:
    channel = Channel.WEBCHAT

    def __init__(self, account: str) -> None:
        self.account = account

    async def run(self, sink: InboundSink, cursors: CursorStore) -> None:
        """Nothing to poll: visitors' frames are pushed by the websocket endpoint."""

    async def send(self, message: OutboundMessage) -> DeliveryResult:
        return DeliveryResult(ok=True)
