"""botkit as a new user installs it: ``pip install .``, ``botkit init``, ``botkit check``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

import botkit

SOURCE_ROOT = Path(botkit.__file__).resolve().parents[1]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOTKIT_", "PYTHON"))}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=240)


def copy_checkout(to: Path) -> Path:
    """The files git knows, as a release would hold them (no build/, no .venv)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=SOURCE_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for name in filter(None, listed):
        source = SOURCE_ROOT / name
        if source.is_file():
            (to / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, to / name)
    return to


def fresh_install(root: Path, *pip_args: str) -> Path:
    """A fresh venv with ``pip install --no-deps <pip_args> <copy of the checkout>``:
    its bin directory.

    The dependencies come from the running interpreter's site-packages (a .pth), so
    the test needs no index for them; botkit itself is only the installed copy.
    """
    checkout = copy_checkout(root / "checkout")
    env_dir = root / "venv"
    venv.create(env_dir, with_pip=False)
    bin_dir = env_dir / "bin"
    site = Path(
        run(
            str(bin_dir / "python"), "-c", "import site; print(site.getsitepackages()[0])", cwd=root
        ).stdout.strip()
    )
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    result = run(
        sys.executable, "-m", "pip", "--python", str(bin_dir / "python"),
        "install", "-q", "--no-deps", *pip_args, str(checkout), cwd=root,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return bin_dir


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """botkit as ``pip install .`` leaves it in a fresh venv: the venv's bin directory."""
    return fresh_install(tmp_path_factory.mktemp("fresh"))


@pytest.mark.timeout(600)
def test_an_installed_botkit_finds_its_shipped_plugins(installed: Path, tmp_path: Path) -> None:
    where = run(
        str(installed / "python"), "-c", "import botkit; print(botkit.__file__)", cwd=tmp_path
    )
    assert where.stdout.startswith(str(installed.parent)), where  # not the checkout

    assert run(str(installed / "botkit"), "init", "c.yaml", cwd=tmp_path).returncode == 0
    checked = run(str(installed / "botkit"), "check", "-c", "c.yaml", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert "echo (echo " in checked.stdout

    listed = run(str(installed / "botkit"), "plugins", "-c", "c.yaml", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    lines = {line.split()[0]: line for line in listed.stdout.splitlines()}
    assert set(lines) == {"echo", "twim"}
    # The manifests, default configs and templates are installed with the code.
    twim_files = Path(lines["twim"].rsplit("(", 1)[1].rstrip(")"))
    assert twim_files.is_relative_to(installed.parent)
    assert {"plugin.yaml", "config.yaml"} <= {p.name for p in twim_files.iterdir()}
    assert (twim_files / "templates" / "current.md").is_file()

    # twim, enabled as init's comments say, is checked from its installed files.
    config = tmp_path / "c.yaml"
    config.write_text(
        config.read_text()
        .replace("plugin: twim\n    enabled: false", "plugin: twim\n    enabled: true")
        .replace("rooms: []", 'rooms: ["!twim:example.org"]')
        .replace("editors: []", 'editors: ["@ed:example.org"]')
    )
    checked = run(str(installed / "botkit"), "check", "-c", "c.yaml", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert "twim (twim 1." in checked.stdout


PLUGIN_TEST = """\
from botkit.loader import discover
from botkit.testing.harness import HarnessFactory


async def test_ping(plugin_harness: HarnessFactory) -> None:
    echo = discover([])[0]["echo"]
    h = await plugin_harness(echo)
    await h.command("!ping")
    assert h.replies(), h.sent
"""

TYPED = """\
from botkit import CommandContext, Plugin, command
from botkit.testing.harness import HarnessFactory


class Hello(Plugin):
    @command("hello")
    async def hello(self, ctx: CommandContext) -> None:
        await ctx.reply(42)
"""


def test_a_plugin_project_gets_the_fixtures_and_the_types(installed: Path, tmp_path: Path) -> None:
    # What the README tells a plugin author: no conftest, asyncio_mode = "auto".
    (tmp_path / "pyproject.toml").write_text('[tool.pytest.ini_options]\nasyncio_mode = "auto"\n')
    (tmp_path / "test_echo.py").write_text(PLUGIN_TEST)
    tested = run(
        str(installed / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=tmp_path
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "1 passed" in tested.stdout

    # mypy reads botkit's annotations (py.typed): a wrong argument type is found.
    (tmp_path / "hello.py").write_text(TYPED)
    typed = run(str(installed / "python"), "-m", "mypy", "--strict", "hello.py", cwd=tmp_path)
    assert typed.returncode == 1, typed.stdout
    assert 'Argument 1 to "reply" of "MessageContext" has incompatible type "int"' in typed.stdout


def botkit_here(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The botkit this test runs with (an editable install of the checkout)."""
    return subprocess.run(
        [sys.executable, "-m", "botkit", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_init_lists_the_shipped_plugins_and_check_finds_them(tmp_path: Path) -> None:
    assert botkit_here("init", "c.yaml", cwd=tmp_path).returncode == 0
    text = (tmp_path / "c.yaml").read_text()
    assert "plugin: echo" in text and "plugin: twim" in text
    # twim says what it still needs before it can be enabled.
    assert "set rooms" in text and "editors" in text
    checked = botkit_here("check", "-c", "c.yaml", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert "echo (echo " in checked.stdout


def test_plugins_lists_id_version_and_where(tmp_path: Path) -> None:
    (tmp_path / "dirs" / "hello").mkdir(parents=True)
    (tmp_path / "dirs" / "hello" / "plugin.yaml").write_text(
        "id: hello\nversion: 0.3\nmain: plugin:P\n"
    )
    (tmp_path / "c.yaml").write_text(
        "homeserver:\n  url: http://127.0.0.1:9\n  user_id: '@bot:example.org'\n"
        "  access_token: x\nplugin_dirs: [dirs]\n"
    )
    listed = botkit_here("plugins", "-c", "c.yaml", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    lines = {line.split()[0]: line.split(maxsplit=2) for line in listed.stdout.splitlines()}
    assert lines["hello"] == ["hello", "0.3", str(tmp_path / "dirs" / "hello")]
    assert lines["echo"][1] == "1.1.0" and "botkit_plugins.echo" in lines["echo"][2]


def test_plugins_reports_a_plugin_found_twice(tmp_path: Path) -> None:
    # A copy of echo in plugin_dirs beside the installed one: which would run?
    shutil.copytree(SOURCE_ROOT / "plugins" / "echo", tmp_path / "dirs" / "echo")
    (tmp_path / "c.yaml").write_text(
        "homeserver:\n  url: http://127.0.0.1:9\n  user_id: '@bot:example.org'\n"
        "  access_token: x\nplugin_dirs: [dirs]\n"
    )
    for command in ("plugins", "check"):
        result = botkit_here(command, "-c", "c.yaml", cwd=tmp_path)
        assert result.returncode == 2
        assert str(tmp_path / "dirs" / "echo") in result.stderr
        assert "entry point echo = botkit_plugins.echo" in result.stderr


def test_a_strict_editable_install_is_typed_and_its_plugins_count_once(tmp_path: Path) -> None:
    # As the README tells a plugin author who develops against a botkit checkout.
    bin_dir = fresh_install(tmp_path, "--config-settings", "editable_mode=strict", "-e")
    work = tmp_path / "work"
    work.mkdir()
    (work / "hello.py").write_text(TYPED)
    typed = run(str(bin_dir / "python"), "-m", "mypy", "--strict", "hello.py", cwd=work)
    assert 'Argument 1 to "reply" of "MessageContext"' in typed.stdout, typed.stdout
    # The checkout's plugins/ in plugin_dirs is what the entry points name: no duplicate.
    (work / "c.yaml").write_text(
        "homeserver:\n  url: http://127.0.0.1:9\n  user_id: '@bot:example.org'\n"
        f"  access_token: x\nplugin_dirs: [{tmp_path / 'checkout' / 'plugins'}]\n"
    )
    listed = run(str(bin_dir / "botkit"), "plugins", "-c", "c.yaml", cwd=work)
    assert listed.returncode == 0, listed.stderr
    assert sorted(line.split()[0] for line in listed.stdout.splitlines()) == ["echo", "twim"]
