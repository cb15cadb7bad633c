"""The shipped default config: the sections and projects of the published posts."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from plugins.twim.model import Post, Project, Section
from plugins.twim.render import render_post
from tests.twim.builders import entry

CONFIG = Path(__file__).parents[2] / "plugins" / "twim" / "config.yaml"

# Every department heading of the four reference posts, in the order they appear there.
PUBLISHED_SECTIONS = [
    "Dept of *Status of Matrix* \U0001f321\ufe0f",
    "Dept of Spec \U0001f4dc",
    "Dept of Servers \U0001f3e2",
    "Homeserver Deployment \U0001f4e5\ufe0f",
    "Dept of Bridges \U0001f309",
    "Dept of Clients \U0001f4f1",
    "Dept of SDKs and Frameworks \U0001f9f0",
    "Dept of Ops \U0001f6e0",
    "Dept of Bots \U0001f916",
    "Dept of Services \U0001f680",
    "Dept of Interesting Projects \U0001f6f0\ufe0f",
    "Dept of Guides \U0001f9ed",
    "Matrix in the News \U0001f4f0",
    "Final Thoughts \U0001f4ad",
]


def load() -> dict[str, Any]:
    config: dict[str, Any] = YAML(typ="safe").load(CONFIG.read_text(encoding="utf-8"))
    return config


def test_sections_are_those_of_the_published_posts_in_their_order() -> None:
    sections = sorted(load()["sections"], key=lambda section: section["order"])

    assert [section["title"] for section in sections] == PUBLISHED_SECTIONS


def test_each_section_has_its_own_key_emoji_and_order() -> None:
    sections = load()["sections"]

    for field in ("key", "emoji", "order"):
        values = [section[field] for section in sections]
        assert len(set(values)) == len(values), field
    for section in sections:
        assert section["title"].endswith(section["emoji"])


def test_list_items_have_the_shape_of_the_first_since_botkit_validates_by_it() -> None:
    config = load()

    for name in ("sections", "projects"):
        first = config[name][0]
        for item in config[name]:
            assert {k: type(v) for k, v in item.items()} == {
                k: type(v) for k, v in first.items()
            }, item
    assert config["projects"][0]["aliases"], "an empty first list would leave aliases untyped"


def test_projects_go_to_configured_sections_with_descriptions_as_published() -> None:
    config = load()
    keys = {section["key"] for section in config["sections"]}
    projects = {project["name"]: project for project in config["projects"]}

    assert {project["section"] for project in projects.values()} <= keys
    assert (
        projects["synapse"]["description"] == "Synapse is a popular homeserver written in Python."
    )
    assert projects["conduit"]["description"] == (
        "Conduit is a Matrix homeserver written in Rust <https://conduit.rs>"
    )
    assert {"synapse", "dendrite", "conduit", "element", "hydrogen"} <= set(projects)


def test_the_defaults_render_a_post() -> None:
    config = load()
    week = Post(
        date=date(2021, 3, 5),
        editor=config["editor_name"],
        sections=[Section(**section) for section in config["sections"]],
        projects=[
            Project(**{**project, "aliases": tuple(project["aliases"])})
            for project in config["projects"]
        ],
        entries=[entry("Support for Jaeger", event_id="$1", project="conduit")],
        header_image=config["header_image"],
        twim_room_alias=config["twim_room_alias"],
    )

    rendered = render_post(week)

    assert 'image = "https://matrix.org/blog/img/2021-03-05-ml.png"' in rendered
    assert "## Dept of Servers 🏢\n\n### Conduit\n\nConduit is a Matrix homeserver" in rendered
    assert config["notice_emoji"] == "⭕"
    assert config["ack"] in ("reaction", "notice")
