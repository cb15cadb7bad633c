"""botkit.markdown and botkit.links: safe links and images, raw HTML as text, a cap."""

from __future__ import annotations

import pytest

from botkit.errors import CommandError
from botkit.links import safe_html
from botkit.markdown import (
    MAX_MARKDOWN_CHARS,
    MarkdownTooLong,
    normalize_label,
    render,
    syntax_tree,
)

UNSAFE_URLS = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)",
    " javascript:alert(1)",
    "javascript%3Aalert(1)",
    "vbscript:msgbox(1)",
    "data:text/html;base64,PHNjcmlwdD4=",
    "file:///etc/passwd",
]


@pytest.mark.parametrize("url", UNSAFE_URLS)
def test_a_link_with_an_unsafe_scheme_is_no_link(url: str) -> None:
    for text in (f"[x](<{url}>)", f"[x]\n\n[x]: <{url}>", f"<{url}>"):
        assert "href" not in render(text), text


def test_safe_links_stay_links() -> None:
    html = render(
        "[web](https://matrix.org) [mail](mailto:a@b.c) [room](matrix:r/twim:matrix.org) "
        "[anchor](#top) <https://x.org>"
    )
    for href in ("https://matrix.org", "mailto:a@b.c", "matrix:r/twim:matrix.org", "#top"):
        assert f'href="{href}"' in html
    assert '<a href="https://x.org">https://x.org</a>' in html


def test_only_mxc_images_are_images_others_become_links_or_text() -> None:
    html = render(
        "![cat](mxc://example.org/cat) ![far](https://evil.example/p.png) ![js](javascript:x)"
    )
    assert '<img src="mxc://example.org/cat" alt="cat" />' in html
    assert '<a href="https://evil.example/p.png">far</a>' in html
    assert "javascript" not in html.replace("![js](javascript:x)", "")


def test_raw_html_is_text_unless_allowed() -> None:
    assert "&lt;b&gt;x&lt;/b&gt;" in render("<b>x</b>")
    assert "<b>x</b>" in render("<b>x</b>", allow_html=True)


def test_text_over_the_cap_is_refused_with_a_message_for_the_user() -> None:
    render("a" * MAX_MARKDOWN_CHARS)
    with pytest.raises(MarkdownTooLong) as raised:
        render("a" * (MAX_MARKDOWN_CHARS + 1))
    assert isinstance(raised.value, CommandError)
    assert "too long" in str(raised.value)


@pytest.mark.parametrize(
    ("html", "safe"),
    [
        ('<a href="javascript:alert(1)">x</a>', "<a >x</a>"),
        ("<a title='<' HREF = 'JaVa&#x09;script:x'>y</a>", "<a title='<' >y</a>"),
        ("<a href=javascript:x>z</a>", "<a >z</a>"),
        ('<img src="https://e.org/x.png" alt="x">', '<img  alt="x">'),
        ('<a b=<c href="data:text/html,x">', "<a b=<c >"),
        ('<form action="javascript:x"><button formaction=vbscript:y>', "<form ><button >"),
    ],
)
def test_safe_html_drops_unsafe_urls_from_tags(html: str, safe: str) -> None:
    assert safe_html(html) == safe


def test_safe_html_keeps_everything_else_byte_for_byte() -> None:
    html = (
        "<p>1 &lt; 2 and a=\"javascript:no tag\" <a href='https://matrix.org'>ok</a>"
        '<img src="mxc://a/b"> <!-- <a href="javascript:x"> --> <a href="#x">in</a></p>'
    )
    assert safe_html(html) == html


def test_the_syntax_tree_shows_raw_html_unsafe_links_and_definitions() -> None:
    tree = syntax_tree("<b>x</b>\n\n[a](javascript:y)\n\n[Foo  Bar]: vbscript:z")
    kinds = [child.type for token in tree.tokens for child in token.children or []]
    assert "html_inline" in kinds
    links = [
        child.attrGet("href")
        for token in tree.tokens
        for child in token.children or []
        if child.type == "link_open"
    ]
    assert links == ["javascript:y"]
    assert tree.references == {normalize_label("foo bar"): "vbscript:z"}
    assert not tree.truncated


def test_the_syntax_tree_says_when_it_did_not_read_the_deepest_nesting() -> None:
    assert syntax_tree("> " * 200 + "<b>x</b>").truncated
