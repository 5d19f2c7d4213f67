"""clarify-runner: analyzer."""
