"""Pure scoring functions (instruments.md §2–4)."""
