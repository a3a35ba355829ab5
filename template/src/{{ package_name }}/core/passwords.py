"""Password hashing with argon2id: off the event loop, a few at a time, shedding load past that.

Argon2id is slow and memory-hard on purpose: that is what makes stolen hashes expensive to
crack. So hashes are made in worker threads, where they cannot stall other requests, at most
PASSWORD_HASH_CONCURRENCY at once (a burst of sign-ups queues for the CPU instead of taking
all memory), and past PASSWORD_HASH_QUEUE_LIMIT waiting, requests are answered 503 with
Retry-After: better a quick "try again" than every answer late.
"""

import asyncio
import secrets
from collections.abc import Callable
from functools import cache
from typing import TypeVar

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from .config import settings
from .exceptions import ServiceUnavailableError

T = TypeVar("T")

BUSY = "Too many password checks at once; try again shortly."

_password_hash = PasswordHash(
    (
        Argon2Hasher(
            memory_cost=settings.argon2_memory_cost_kib,
            time_cost=settings.argon2_time_cost,
            parallelism=settings.argon2_parallelism,
        ),
    )
)


class HashingQueue:
    """At most `concurrency` hashes at once, and at most `queue_limit` more waiting."""

    def __init__(self, *, concurrency: int, queue_limit: int) -> None:
        self._slots = asyncio.Semaphore(concurrency)
        self._capacity = concurrency + queue_limit
        self._admitted = 0

    async def run(self, function: Callable[..., T], *args: str) -> T:
        if self._admitted >= self._capacity:
            raise ServiceUnavailableError(BUSY, retry_after=1)
        self._admitted += 1
        try:
            async with self._slots:
                return await asyncio.to_thread(function, *args)
        finally:
            self._admitted -= 1


_queue = HashingQueue(
    concurrency=settings.password_hash_concurrency,
    queue_limit=settings.password_hash_queue_limit,
)


async def hash_password(password: str) -> str:
    return await _queue.run(_password_hash.hash, password)


async def verify_password(password: str, hashed_password: str) -> bool:
    return await _queue.run(_password_hash.verify, password, hashed_password)


async def verify_and_update_password(
    password: str, hashed_password: str
) -> tuple[bool, str | None]:
    """Whether the password is right, and its new hash if the stored one was made with other
    parameters than today's (the caller saves it, so hashes follow the settings over time).
    """
    return await _queue.run(_password_hash.verify_and_update, password, hashed_password)


@cache
def _hash_of_a_random_password() -> str:
    return _password_hash.hash(secrets.token_urlsafe(32))


async def verify_against_nothing(password: str) -> None:
    """The work of a wrong password, for a login with an unknown email: both cost the same,
    so the timing does not tell which emails are registered.
    """
    dummy_hash = await _queue.run(_hash_of_a_random_password)
    await _queue.run(_password_hash.verify, password, dummy_hash)
