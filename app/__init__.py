"""Concierge application: settings, storage, inbox, routing, realtime hub and web."""
