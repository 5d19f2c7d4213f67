"""clarify-runner: container."""
