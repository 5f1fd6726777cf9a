"""SQLite's WAL checkpoints, run beside the chat instead of inside one of its commits.

In WAL mode a commit appends the pages it changed to the ``-wal`` file, and a *checkpoint* copies
them back into the database file. By default SQLite runs one inside the commit that takes the
WAL past 1,000 pages. A chat message or reply changes about 16 (the message, the conversation,
their indexes, the search index, the response turn: 33 WAL frames for the two), so under a chat
load one commit in sixty or so stalled for milliseconds while it copied 4 MB: that was the tail
of the hot path (``bench.hot_path``, four runs each: a message's p99 5.7–6.5 ms for a mean of
2.8 ms; 3.8–4.7 ms with the checkpoints on their thread, the mean unchanged).

A serving worker's connections turn that off (``wal_autocheckpoint=0``) and a thread of the
worker checkpoints instead, every :data:`EVERY` seconds, on a connection of its own. Its
checkpoint is a PASSIVE one: it copies what no reader still needs and never waits for a reader or
a writer, and SQLite lets go of Python's lock while it copies, so the event loop keeps running on
the other core. Once a checkpoint has copied everything, the next writer starts the WAL over from
its beginning; its file is cut back to :data:`WAL_KEEP_BYTES` then, so a burst does not leave a
large file behind.

Other processes (the command line) keep SQLite's own checkpoints: they write little, and the
last connection to close a database checkpoints it anyway.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

log = logging.getLogger(__name__)

EVERY = 0.5  # seconds between two checkpoints
WAL_KEEP_BYTES = 64 * 1024 * 1024


def pragmas(cursor: sqlite3.Cursor) -> None:
    """Run on each connection of a worker whose :class:`Checkpointer` runs."""
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.execute(f"PRAGMA journal_size_limit={WAL_KEEP_BYTES}")


class Checkpointer:
    """The thread checkpointing the database file ``path`` until :meth:`stop`."""

    def __init__(self, path: str, every: float = EVERY) -> None:
        self.path = path
        self.every = every
        self.checkpoints = 0  # done so far (tests)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        failing = False
        try:
            connection = sqlite3.connect(self.path, timeout=5, check_same_thread=False)
        except sqlite3.Error as exc:  # the worker's connections do not checkpoint: said loudly
            log.error("SQLite checkpoints not started (%s): the WAL grows until it closes", exc)
            return
        try:
            while not self._stop.wait(self.every):
                try:
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as exc:
                    if not failing:  # said once per run of failures, not twice a second
                        log.warning("SQLite checkpoint failed (%s); trying again", exc)
                    failing = True
                    continue
                if failing:
                    log.info("SQLite checkpoints work again")
                failing = False
                self.checkpoints += 1
        finally:
            connection.close()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        """Stops the thread (after its checkpoint under way, if any) and closes its connection."""
        self._stop.set()
        self._thread.join(timeout=30)
