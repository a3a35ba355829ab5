"""neodyme: generate and grow production-shaped FastAPI backends.

The library API is what the CLI calls; it never prints and raises only
`neodyme_cli.errors.NeodymeError` subclasses (and `KeyboardInterrupt`).
"""

__version__ = "0.2.0"
