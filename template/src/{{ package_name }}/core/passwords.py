"""Password hashing with argon2id, kept off the event loop."""

import asyncio

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

# Argon2id is slow and memory-hard on purpose; that is why it runs in a worker thread,
# where it cannot stall the other requests.
_password_hash = PasswordHash((Argon2Hasher(),))


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_password_hash.hash, password)


async def verify_password(password: str, hashed_password: str) -> bool:
    return await asyncio.to_thread(_password_hash.verify, password, hashed_password)
