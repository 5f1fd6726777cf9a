"""HTTP and websocket handlers: thin — parse, authorise, call one action, answer."""
