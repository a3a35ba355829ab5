"""The optional modules a project can be generated with or given later."""

from typing import Final

MODULES: Final = ("auth", "docker", "monitoring")
DATABASES: Final = ("sqlite", "postgresql")
