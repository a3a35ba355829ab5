"""Data access: the only code that builds queries."""

from .user import UserRepository, user_repository

__all__ = ["UserRepository", "user_repository"]
