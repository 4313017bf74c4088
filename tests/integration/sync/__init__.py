"""sync tests."""
