"""A minimal plugin for botkit's own tests: a command with an argument, a table, a route."""
