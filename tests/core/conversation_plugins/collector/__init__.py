"""A test plugin for history on join: a collector with a catch-up age."""
