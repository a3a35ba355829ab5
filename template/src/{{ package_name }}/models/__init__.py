"""The table models and their API shapes, one module per table.

Importing this package imports every module in it, so each table is registered on
SQLModel's metadata, where Alembic and the application find it: a new model needs its
file here and nothing else.
"""

import importlib
import pkgutil

from .user import User, UserCreate, UserPublic, UserUpdate

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["User", "UserCreate", "UserPublic", "UserUpdate"]
