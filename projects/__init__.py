"""Example projects: their raw data, written locally for tests and demos."""
