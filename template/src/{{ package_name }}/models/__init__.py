"""The table models and their API shapes. Importing this package registers every table."""

from .user import User, UserCreate, UserPublic, UserUpdate

__all__ = ["User", "UserCreate", "UserPublic", "UserUpdate"]
