"""The example plugin from the README."""
