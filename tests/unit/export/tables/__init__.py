"""tables tests."""
