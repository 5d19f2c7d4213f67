"""clarify-runner: local_endpoint."""
