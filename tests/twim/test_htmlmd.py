"""Messages turned into the markdown of a report, and reports into quotes."""

from __future__ import annotations

import random
import re

import commonmark
import pytest

from plugins.twim.htmlmd import html_to_markdown, message_markdown, quote, split_heading

HTML = "org.matrix.custom.html"


def shown(markdown: str) -> str:
    """The HTML a reader's browser gets for ``markdown``."""
    return str(commonmark.commonmark(markdown)).strip()


async def test_a_plain_body_is_taken_as_it_is() -> None:
    body = "# Heading\r\n\r\n* a *list*\r\n  with <https://x.org>"

    assert await message_markdown(body) == "# Heading\n\n* a *list*\n  with <https://x.org>"


async def test_a_formatted_body_is_converted_and_its_plain_body_ignored() -> None:
    markdown = await message_markdown("fallback", "<p>Hello <strong>world</strong></p>", HTML)

    assert markdown == "Hello **world**"


async def test_a_formatted_body_in_an_unknown_format_is_ignored() -> None:
    assert await message_markdown("plain *text*", "<b>x</b>", "com.example.other") == "plain *text*"


@pytest.mark.parametrize(
    ("html", "markdown"),
    [
        ("<em>a</em> <i>b</i> <strong>c</strong> <del>d</del>", "*a* *b* **c** ~~d~~"),
        ("<ul><li>one<ul><li>inner</li></ul></li><li>two</li></ul>", "* one\n  * inner\n* two"),
        ("<ol><li>first</li><li>second</li></ol>", "1. first\n2. second"),
        # Two lists in a row stay two: the second switches its marker (CommonMark would
        # run "* a" and "* b" into one loose list).
        ("<ul><li>a</li></ul><ul><li>b</li></ul><ul><li>c</li></ul>", "* a\n\n- b\n\n* c"),
        ("<ol><li>a</li></ol>\n<ol start='5'><li>b</li></ol>", "1. a\n\n5) b"),
        ("<ul><li>a</li></ul><ol><li>b</li></ol>", "* a\n\n1. b"),
        ("<h4>MSC Status</h4><p>text</p>", "#### MSC Status\n\ntext"),
        ("<blockquote><p>a</p><p>b</p></blockquote><p>c</p>", "> a\n>\n> b\n\nc"),
        ("<p>a</p><hr><p>b</p>", "a\n\n---\n\nb"),
        ("line one<br>line two", "line one  \nline two"),
        ('<a href="https://x.org/">https://x.org/</a>', "<https://x.org/>"),
        ('<a href="https://x.org/">the site</a>', "[the site](https://x.org/)"),
        ('<a href="https://x.org/a b(c">t</a>', "[t](https://x.org/a%20b\\(c)"),
        (
            '<a href="https://matrix.to/#/@michael7801:rapgru.com">@michi7801</a>',
            "[@michi7801](https://matrix.to/#/@michael7801:rapgru.com)",
        ),
        (
            '<a href="https://matrix.to/#/#nheko:nheko.im">#nheko:nheko.im</a>',
            "[#nheko:nheko.im](https://matrix.to/#/#nheko:nheko.im)",
        ),
        ("<mx-reply><blockquote>earlier</blockquote></mx-reply>my reply", "my reply"),
        ('<p>Hi <span data-mx-spoiler="why">secret</span></p>', "Hi secret"),
    ],
)
async def test_html_becomes_markdown_in_the_style_of_the_posts(html: str, markdown: str) -> None:
    assert await html_to_markdown(html) == markdown


async def test_code_keeps_its_content_literally() -> None:
    markdown = await html_to_markdown(
        "<p>Use <code>/addwidget &lt;url&gt;</code> or <code>a`b</code></p>"
        '<pre><code class="language-bash">echo "```"\n'
        '[ -n "$x" ] &amp;&amp; &lt;b&gt;\n</code></pre>'
    )

    assert markdown == (
        'Use `/addwidget <url>` or ``a`b``\n\n````bash\necho "```"\n[ -n "$x" ] && <b>\n````'
    )
    assert "<code>/addwidget &lt;url&gt;</code>" in shown(markdown)
    assert "&lt;b&gt;\n</code></pre>" in shown(markdown)


async def test_literal_text_stays_literal() -> None:
    text = "2*3*4, _not emphasis_, [not a link](x), &lt;b&gt;bold?&lt;/b&gt;, a \\ b, &amp;amp;"

    rendered = shown(await html_to_markdown(f"<p>{text}</p>"))

    assert rendered == (
        "<p>2*3*4, _not emphasis_, [not a link](x), &lt;b&gt;bold?&lt;/b&gt;, a \\ b, &amp;amp;</p>"
    )


async def test_links_to_unsafe_addresses_and_inline_images_keep_only_their_text() -> None:
    markdown = await html_to_markdown(
        '<a href="javascript:alert(1)">click</a> <img src="mxc://x/y" alt="a cat">'
    )

    assert markdown == "click a cat"


def test_quote_prefixes_every_line_and_leaves_empty_ones_bare() -> None:
    assert quote("\n\nfirst\n\n  indented\nlast  \n   \n") == "> first\n>\n>   indented\n> last  "


@pytest.mark.parametrize(
    ("text", "heading", "rest"),
    [
        ("## Release 1.0 ##\n\n\nIt is out.", "Release 1.0", "It is out."),
        ("\n# Title\nbody", "Title", "body"),
        ("### Spec\n> quoted", "Spec", "> quoted"),
        ("#hashtag is not a heading\nbody", None, "#hashtag is not a heading\nbody"),
        ("text first\n# heading later", None, "text first\n# heading later"),
        ("    # indented code\nbody", None, "    # indented code\nbody"),
        ("# \nempty heading", None, "# \nempty heading"),
    ],
)
def test_split_heading(text: str, heading: str | None, rest: str) -> None:
    assert split_heading(text) == (heading, rest)


@pytest.mark.parametrize(
    "html",
    [
        "<b>" * 5000 + "deep" + "</b>" * 5000,
        "<blockquote>" * 3000 + "deep",
        "<ul><li>" * 3000 + "deep",
    ],
)
async def test_html_nested_too_deep_gives_way_to_the_body(html: str) -> None:
    assert await message_markdown("the body *says* it", html, HTML) == "the body *says* it"


@pytest.mark.parametrize(
    ("html", "markdown"),
    [
        ("<p>\\o/ we made it</p>", "\\o/ we made it"),
        ("<p>C:\\Users\\me</p>", "C:\\Users\\me"),
        ("<p>a \\* b \\</p>", "a \\\\\\* b \\\\"),
        ("<p># not a heading</p>", "\\# not a heading"),
        ("<p>#nheko is a room</p>", "#nheko is a room"),
        ("<p>1. not a list</p>", "1\\. not a list"),
    ],
)
async def test_a_backslash_is_escaped_only_where_commonmark_reads_an_escape(
    html: str, markdown: str
) -> None:
    assert await html_to_markdown(html) == markdown
    assert shown(markdown) == html


_PIECES = [*"ab o/\\*_`[]()<>&#!-+.:~;=|\"'{}1", "\\o/", "&amp;", "  ", "1.", "1)", "\n", "\n\n"]


def _rendered(markdown: str) -> str:
    """CommonMark's HTML for ``markdown``, without what the converter rightly drops: the
    spacing between words and around line breaks, empty block quotes, and a line break
    that opens a paragraph."""
    html = re.sub(r"\s+", " ", str(commonmark.commonmark(markdown)))
    html = re.sub(r"(?:<blockquote> )+(?:</blockquote> ?)+", "", html)
    html = re.sub(r" ?<br /> ?", "<br />", html)
    return html.replace("<p><br />", "<p>").strip()


async def test_markdown_survives_the_round_trip_through_html() -> None:
    # Many short texts of the characters markdown gives meaning to, seeded so a failure
    # repeats: a sender's markdown, as their client sends it in HTML, converted back.
    pieces = random.Random(14)
    checked = 0
    while checked < 3000:
        typed = "".join(pieces.choice(_PIECES) for _ in range(pieces.randint(1, 14)))
        if re.search(r"<[A-Za-z/!?]", typed):
            continue  # raw HTML, which a client does not pass through
        checked += 1
        html = str(commonmark.commonmark(typed))
        assert _rendered(await html_to_markdown(html)) == _rendered(typed), typed
