"""epro's test suite: unit, integration, ui, server, security, e2e; what they share is in
tests.helpers."""
