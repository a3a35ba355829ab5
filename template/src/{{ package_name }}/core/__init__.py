"""Configuration, database access, errors and logging, shared by the whole application."""

from .config import settings
from .database import get_async_session

__all__ = ["get_async_session", "settings"]
