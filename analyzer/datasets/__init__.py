"""Dataset loading internals; import the public API from :mod:`analyzer.dataset`."""
