"""scoring tests."""
