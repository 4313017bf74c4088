"""epro-sync: the central study server."""
