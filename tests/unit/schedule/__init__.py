"""schedule tests."""
