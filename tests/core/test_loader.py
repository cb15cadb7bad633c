"""The loader finds plugins and names the plugin, file and key of every problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from botkit import Plugin, PluginLoadError
from botkit.loader import discover

PLUGINS = Path(__file__).parent / "plugins"


def write_plugin(root: Path, name: str, manifest: str, code: str = "", config: str = "") -> Path:
    directory = root / name
    directory.mkdir(parents=True)
    (directory / "plugin.yaml").write_text(manifest)
    if code:
        (directory / "plugin.py").write_text(code)
    if config:
        (directory / "config.yaml").write_text(config)
    return directory


def test_directory_plugins_are_found_with_their_manifest() -> None:
    sources, problems = discover([PLUGINS])
    assert problems == []
    assert {"hello", "crashy"} <= set(sources)
    hello = sources["hello"]
    assert (hello.version, hello.class_name) == ("1.0.0", "Hello")
    assert "greeting: Hello" in hello.config_text
    cls = hello.load_class()
    assert issubclass(cls, Plugin) and cls.__name__ == "Hello"


def test_reloading_imports_the_code_afresh(tmp_path: Path) -> None:
    code = "from botkit import Plugin\nclass P(Plugin):\n    version = {}\n"
    d = write_plugin(tmp_path, "p", "id: p\nversion: 1\nmain: plugin:P\n", code.format(1))
    source = discover([tmp_path])[0]["p"]
    assert source.load_class().version == 1  # type: ignore[attr-defined]
    (d / "plugin.py").write_text(code.format(2))
    assert source.load_class().version == 2  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("manifest", "fragment"),
    [
        ("id: Bad Id\nversion: 1\nmain: plugin:P\n", "id: must be a string"),
        ("id: p\nmain: plugin:P\n", "version: required"),
        ("id: p\nversion: 1\n", "main: required as module:Class"),
        ("id: p\nversion: 1\nmain: plugin:P\nconfig: nope.yaml\n", "config: file 'nope.yaml'"),
        ("id: p\nversion: 1\nmain: plugin:P\ncolour: red\n", "colour: unknown key"),
        ("id: p\nversion: [1\n", "not valid YAML"),
    ],
)
def test_bad_manifests_name_the_file_and_key(tmp_path: Path, manifest: str, fragment: str) -> None:
    write_plugin(tmp_path, "p", manifest)
    sources, problems = discover([tmp_path])
    assert "p" not in sources
    assert len(problems) == 1
    assert problems[0].file == str(tmp_path / "p" / "plugin.yaml")
    assert fragment in problems[0].reason


def test_code_that_does_not_import_names_the_plugin(tmp_path: Path) -> None:
    write_plugin(tmp_path, "p", "id: p\nversion: 1\nmain: plugin:P\n", "import not_a_module\n")
    source = discover([tmp_path])[0]["p"]
    with pytest.raises(PluginLoadError, match=r"plugin 'p': .*plugin.yaml: main: import failed"):
        source.load_class()


def test_main_must_name_a_plugin_class(tmp_path: Path) -> None:
    write_plugin(tmp_path, "p", "id: p\nversion: 1\nmain: plugin:P\n", "class P:\n    pass\n")
    source = discover([tmp_path])[0]["p"]
    with pytest.raises(PluginLoadError, match=r"is not a botkit\.Plugin subclass"):
        source.load_class()


def test_the_same_id_twice_is_a_problem(tmp_path: Path) -> None:
    for name in ("a", "b"):
        write_plugin(tmp_path, name, "id: p\nversion: 1\nmain: plugin:P\n")
    sources, problems = discover([tmp_path])
    assert "p" in sources
    assert f"found twice: at {tmp_path / 'a'} and at {tmp_path / 'b'}" in problems[0].reason


def install_plugin(site: Path, package: str, manifest: str) -> Path:
    """A plugin package in ``site`` with a distribution naming it in ``botkit.plugins``,
    as ``pip install`` would leave it."""
    directory = write_plugin(
        site, package, manifest, "from botkit import Plugin\nclass P(Plugin): ...\n"
    )
    (directory / "__init__.py").write_text("")
    dist = site / f"{package}-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[botkit.plugins]\np = {package}\n")
    return directory


def test_an_installed_plugin_is_found_with_where_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = install_plugin(
        tmp_path, "botkit_test_inst", "id: p\nversion: 2.0\nmain: plugin:P\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    sources, problems = discover([])
    assert problems == []
    source = sources["p"]
    assert source.version == "2.0"
    assert "entry point p = botkit_test_inst" in source.location
    assert str(directory) in source.location
    assert source.load_class().__name__ == "P"


def test_a_plugin_installed_and_in_plugin_dirs_names_both_places(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_plugin(tmp_path / "site", "botkit_test_twice", "id: p\nversion: 1\nmain: plugin:P\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    copy = write_plugin(tmp_path / "dirs", "p", "id: p\nversion: 1\nmain: plugin:P\n")
    _, problems = discover([tmp_path / "dirs"])
    assert len(problems) == 1
    assert str(copy) in problems[0].reason
    assert "entry point p = botkit_test_twice" in problems[0].reason


def test_an_editable_install_of_a_plugin_dir_is_one_plugin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pip install -e of a checkout whose plugin directory is also in plugin_dirs.
    install_plugin(tmp_path, "botkit_test_same", "id: p\nversion: 1\nmain: plugin:P\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    sources, problems = discover([tmp_path])
    assert problems == []
    assert sources["p"].files == tmp_path / "botkit_test_same"
