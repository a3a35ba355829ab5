"""Use cases: what the application does, independent of HTTP and of the database."""
