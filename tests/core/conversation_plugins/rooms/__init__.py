"""A test plugin for room upgrades: per-room data and a room list in the config."""
