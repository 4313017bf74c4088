"""forms tests."""
