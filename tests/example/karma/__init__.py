"""The karma plugin: the example the README's "Writing a plugin" walks through."""
