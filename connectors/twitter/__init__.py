"""X/Twitter: mentions and direct messages by polling the v2 API, replies posted."""
