"""crypto tests."""
