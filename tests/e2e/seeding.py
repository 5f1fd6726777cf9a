"""Many visitors at once, the way they really arrive: through the chat widget's websocket."""

from __future__ import annotations

import json
import uuid

from websockets.sync.client import connect

from tests.conftest import LiveServer


def chat(live: LiveServer, text: str, account: str = "chat-port-argent", token: str = "") -> str:
    """One visitor message through the visitor socket; returns the visitor's token."""
    query = f"account={account}" + (f"&token={token}" if token else "")
    with connect(f"{live.ws_url}/ws/visitor?{query}", origin=live.url) as ws:
        hello = json.loads(ws.recv(timeout=10))
        client_id = uuid.uuid4().hex
        ws.send(json.dumps({"type": "message", "client_id": client_id, "text": text}))
        while True:
            frame = json.loads(ws.recv(timeout=10))
            if frame.get("type") == "ack" and frame.get("client_id") == client_id:
                return str(hello["token"])
            assert frame.get("type") != "error", frame


def many_chats(live: LiveServer, count: int, account: str = "chat-port-argent") -> None:
    for index in range(count):
        chat(live, f"Visitor {index + 1}: is the ferry running tomorrow morning?", account)
