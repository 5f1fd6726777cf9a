"""Installation-wide chores done by one worker at a time: whoever holds the chore's lease.

A worker takes the lease when nobody holds it and renews it at each pass while it does; the
others skip the chore. A worker that dies lets its lease lapse after ``seconds``, and another
takes over at its next pass. Taking and renewing are one script, so two workers can never both
believe they hold it (a GET then EXPIRE could renew a lease another worker had just taken)."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

# KEYS[1] the lease; ARGV[1] this worker; ARGV[2] milliseconds. 1 when this worker holds it.
_HOLD = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""


async def holds(redis: Redis, lease: str, worker: str, seconds: float) -> bool:
    """Whether ``worker`` holds ``lease`` (a key of app/keys.py) for the next ``seconds``:
    taken if free, renewed if already its own."""
    script = redis.register_script(_HOLD)
    held: Any = await script(keys=[lease], args=[worker, max(1, int(seconds * 1000))])
    return bool(held)
