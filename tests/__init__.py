"""The convguard test suite."""
