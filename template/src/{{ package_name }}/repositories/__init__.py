"""Data access: the only code that builds queries."""
