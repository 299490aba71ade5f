"""The pytest plugin (fixtures and scenario files)."""
