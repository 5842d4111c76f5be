"""Users that act together: run-wide events, groups with barriers, broadcasts."""
