"""This Week in Matrix: editors pick reports from a Matrix room, and the week's post is written.

``plugin`` holds the handlers and commands; ``rows`` and ``store`` keep the room's
messages, edits, reactions and redactions as they came; ``collect`` derives the week's
entries from them; ``draft`` builds the post and the editors' status; ``publish``
writes it with its images; ``preview`` serves the draft on the web. ``model`` holds the
post as data, ``htmlmd`` turns messages into report markdown, ``sanitize`` keeps that
markdown in its place and ``render`` writes the post.
"""
