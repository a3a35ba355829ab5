"""HTTP endpoints: they translate requests into service calls and results into responses."""
