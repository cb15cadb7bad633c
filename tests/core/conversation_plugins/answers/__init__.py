"""A test plugin for threads, replies, mentions and emotes."""
