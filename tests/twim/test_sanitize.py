"""Hostile reports stay inside their quote and cannot change the rest of the post."""

from __future__ import annotations

import re
from typing import Any

import commonmark
import pytest

from plugins.twim.htmlmd import message_markdown
from plugins.twim.render import render_post
from plugins.twim.sanitize import escape_text, safe_destination, sanitize_markdown
from tests.twim.builders import entry, post

HTML = "org.matrix.custom.html"


def shown(markdown: str) -> str:
    """The HTML a reader's browser gets for ``markdown``."""
    return str(commonmark.commonmark(markdown))


def render_report(text: str, **fields: Any) -> str:
    return render_post(post([entry(text, event_id="$evil", **fields)]))


def quote_of(rendered: str) -> list[str]:
    """The quoted lines of the only report in the post."""
    return [line for line in rendered.split("\n") if line.startswith(">")]


@pytest.mark.parametrize(
    "text",
    [
        '+++\ntitle = "pwned"\n+++',
        "intro\n## Dept of Evil 😈\n\n### Not a project",
        "first line\n\n## That's all I know 🏁\n\n[#twim:matrix.org]: https://evil.example",
    ],
)
def test_post_structure_comes_only_from_the_renderer(text: str) -> None:
    rendered = render_report(text)

    assert re.findall(r"^(?:## |###|\+\+\+).*$", rendered, re.MULTILINE) == [
        "+++",
        "+++",
        "## Dept of Servers 🏢",
        "## That's all I know 🏁",
    ]
    assert len(quote_of(rendered)) == len(text.split("\n"))


@pytest.mark.parametrize(
    "text",
    [
        "</blockquote><script>alert(1)</script>",
        "<div>\n\n<script>alert(1)</script>\n\n</div>",
        "<!-- unclosed comment",
        "<img src=x onerror=alert(1)>",
        "\\\\<script>alert(1)</script>",
        "`code` <script>alert(1)</script> `",
        "`a\nb` <script>alert(1)</script> `c`",
        "[^1]: <script>alert(1)</script>",
        "| a |\n|---|\n| `x | <script>alert(1)</script> | y` |",
        "* item\n\n      <script>alert(1)</script>",
        "- ```\n  x\n  ```\n<script>alert(1)</script>",
        "\t```\n<script>alert(1)</script>\n```\n<script>alert(2)</script>",
    ],
)
def test_raw_html_cannot_escape(text: str) -> None:
    rendered = render_report(text)

    assert "<script" not in shown(rendered)
    assert "<div" not in shown(rendered)
    assert "<img" not in shown(rendered)
    assert "<!--" not in shown(rendered)
    assert not any(
        "<script" in line for line in quote_of(rendered) if "|" in line and "`" in line
    ), "a table splits code spans at pipes; the blog would see the tag"


def test_code_shows_html_literally() -> None:
    rendered = render_report("Use `/addwidget <url>`:\n\n```\n<b>not bold</b>\n```")

    assert quote_of(rendered) == [
        "> Use `/addwidget <url>`:",
        ">",
        "> ```",
        "> <b>not bold</b>",
        "> ```",
    ]
    assert "<code>/addwidget &lt;url&gt;</code>" in shown(rendered)


@pytest.mark.parametrize(
    "text",
    [
        "![tracker](https://evil.example/pixel.png)",
        "![tracker][ref]\n\n[ref]: https://evil.example/pixel.png",
        "look ![x](https://evil.example/a.png) here",
    ],
)
def test_images_from_elsewhere_become_plain_links(text: str) -> None:
    html = shown(render_report(text))

    assert "<img" not in html
    assert '<a href="https://evil.example/' in html


@pytest.mark.parametrize(
    "text",
    [
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        "[click](java&#115;cript:alert(1))",
        "[click](java%73cript:alert(1))",
        "<javascript:alert(1)>",
        "[click][x]\n\n[x]: javascript:alert(1)",
        "[click](data:text/html,<script>alert(1)</script>)",
        "[broken site build](@/blog/does-not-exist.md)",
        # Deeper than the parser follows brackets: it sees text, the blog a link.
        "[" * 25 + "click" + "]" * 25 + "(javascript:alert(1))",
        # Longer than the parser reads.
        "long report " * 3000 + "[click](javascript:alert(1))",
    ],
)
def test_links_to_unsafe_addresses_are_not_links(text: str) -> None:
    html = shown(render_report(text))

    hrefs = re.findall(r'href="([^"]*)"', html)
    assert all(href.startswith("https://") for href in hrefs), hrefs


def test_a_report_cannot_take_over_the_sign_off_link() -> None:
    rendered = render_report("[#TWIM:matrix.org]: https://evil.example\n\nhello")

    assert "evil.example" not in "".join(re.findall(r'href="([^"]*)"', shown(rendered)))
    assert '<a href="https://matrix.to/#/#TWIM:matrix.org">#twim:matrix.org</a>' in shown(rendered)


def test_zola_shortcodes_in_a_report_are_not_called() -> None:
    rendered = render_report('{{ youtube_player(video_id="x") }} and `{% raw %}`')

    assert "{{" not in "\n".join(quote_of(rendered))
    assert "{%" not in rendered


def test_a_hostile_heading_is_made_safe_too() -> None:
    rendered = render_report("# <script>alert(1)</script> ![x](https://evil.example/a.png)\nbody")

    assert "<script" not in shown(rendered)
    assert "<img" not in shown(rendered)
    assert "### &lt;script>alert(1)&lt;/script> \\![x](https://evil.example/a.png)" in rendered


def test_a_hostile_display_name_stays_inside_the_credit_line() -> None:
    rendered = render_report(
        "hi", name="[Admin](https://evil.example) <script>x</script>\n## {{ y() }}"
    )

    html = shown(rendered)
    assert "<script" not in html
    assert "evil.example" not in "".join(re.findall(r'href="([^"]*)"', html))
    assert "{{" not in rendered


async def test_hostile_html_messages_stay_inside_their_quote() -> None:
    markdown = await message_markdown(
        "fallback",
        "<p>&lt;/blockquote&gt;&lt;script&gt;x&lt;/script&gt;</p>"
        "<p>![x](https://evil.example/a.png)</p><p>+++</p><h2>Dept of Evil</h2>"
        "<p>!<span>[y](https://evil.example/b.png)</span></p>",
        HTML,
    )
    rendered = render_report(markdown)

    html = shown(rendered)
    assert "<script" not in html
    assert "<img" not in html
    assert re.findall(r"^## .*$", rendered, re.MULTILINE) == [
        "## Dept of Servers 🏢",
        "## That's all I know 🏁",
    ]


def test_harmless_text_is_left_as_it_is() -> None:
    text = (
        "Release 1.2 <https://example.org/r?a=1&b=2> is out, see [notes](https://x.org/n).\n"
        "> quoted remark\n\n* 1 < 2 and 3 > 2\n* `code <b>` and <mail@example.org>"
    )

    assert sanitize_markdown(text) == text


def test_escape_text_keeps_names_readable() -> None:
    assert escape_text("Nico (@deepbluev7:neko.dev)") == "Nico (@deepbluev7:neko.dev)"
    assert escape_text("TR_SLimey") == "TR_SLimey"
    assert escape_text("*star* [x]\n<b>") == "\\*star\\* \\[x\\] \\<b>"


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("https://matrix.org", True),
        ("mailto:a@b.c", True),
        ("matrix:r/twim:matrix.org", True),
        ("/blog/img/x.png", True),
        ("#section", True),
        ("javascript:alert(1)", False),
        (" \tjava\nscript:alert(1)", False),
        ("vbscript:x", False),
        ("data:text/html,x", False),
        ("@/blog/page.md", False),
    ],
)
def test_safe_destination(url: str, safe: bool) -> None:
    assert safe_destination(url) is safe
