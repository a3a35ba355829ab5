"""The application package: `main.create_app()` is where it all comes together."""
