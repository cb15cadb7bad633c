"""This Week in Matrix: editors pick reports from a Matrix room, and the week's post is written.

``model`` holds the post as data, ``htmlmd`` turns messages into report markdown,
``sanitize`` keeps that markdown in its place and ``render`` writes the post.
"""
