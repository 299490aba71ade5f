"""Readers and writers of other products' conversation files."""
