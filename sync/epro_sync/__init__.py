"""epro-sync: the central study server — stores sealed envelopes, roster, completion and audit."""
