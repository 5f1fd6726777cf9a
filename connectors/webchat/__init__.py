"""Website live chat: the visitor widget's websocket frames."""
