"""Finding plugins, reading their manifests, importing their code.

A plugin is a Python package holding a ``plugin.yaml`` manifest::

    id: echo                  # [a-z0-9_.-]+, what instances name in ``plugin:``
    version: 1.0.0
    main: plugin:EchoPlugin   # module inside the package, and the Plugin class
    config: config.yaml       # optional: commented default config
    requires: []              # optional: ids of plugins whose instances start first
    description: ...          # optional

It is found either as a directory in ``plugin_dirs`` or as an installed package
named by an entry point in the group ``botkit.plugins`` (``id = package``; botkit
installs echo and twim so). One id found in two places is a problem naming both:
which copy runs must not depend on search order. Only the same files reached both
ways (an editable install and its checkout in ``plugin_dirs``) count once.
Everything is checked here, when the plugin is loaded, and every error names
the plugin, the file and the key.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.metadata
import importlib.resources
import importlib.util
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from .config import BotConfig, build_config, load_defaults, merge_config
from .config.typed import mismatched_keys
from .errors import ConfigError, PluginLoadError, Problem
from .plugin import Plugin
from .table import HandlerTable

__all__ = [
    "InstancePlan",
    "PluginSource",
    "check_instance",
    "discover",
    "plan_instances",
    "read_manifest",
]

ENTRY_POINT_GROUP = "botkit.plugins"
_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_MANIFEST_KEYS = {"id", "version", "main", "config", "requires", "description"}


@dataclass(frozen=True)
class PluginSource:
    """A plugin found on disk or installed: its manifest and where its code lives."""

    id: str
    version: str
    module: str
    class_name: str
    description: str
    requires: tuple[str, ...]
    config_text: str
    config_file: str
    manifest_file: str
    package: str
    directory: Path | None = None
    location: str = ""
    """Where it was found, for people: its directory, or the entry point and its files."""
    files: Path | None = None
    """The directory holding its manifest, when it is one on disk."""

    def load_class(self) -> type[Plugin]:
        """Import the plugin's code afresh and return its Plugin class."""
        _forget(self.package)
        if self.directory is not None:
            _import_directory_package(self.package, self.directory)
        try:
            module = importlib.import_module(f"{self.package}.{self.module}")
        except Exception as e:
            raise PluginLoadError(self.id, f"{self.manifest_file}: main: import failed: {e}") from e
        cls = getattr(module, self.class_name, None)
        if not (isinstance(cls, type) and issubclass(cls, Plugin)):
            raise PluginLoadError(
                self.id,
                f"{self.manifest_file}: main: {self.module}.{self.class_name} "
                "is not a botkit.Plugin subclass",
            )
        return cls


def _forget(package: str) -> None:
    for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
        del sys.modules[name]
    importlib.invalidate_caches()


def _import_directory_package(package: str, directory: Path) -> ModuleType:
    init = directory / "__init__.py"
    if init.exists():
        spec = importlib.util.spec_from_file_location(
            package, init, submodule_search_locations=[str(directory)]
        )
    else:  # a directory without __init__.py is still one package
        spec = importlib.machinery.ModuleSpec(package, None, is_package=True)
        spec.submodule_search_locations = [str(directory)]
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[package] = module
    if spec.loader is not None:
        spec.loader.exec_module(module)
    return module


def read_manifest(text: str, manifest_file: str, read: Callable[[str], str | None]) -> PluginSource:
    """Validate a manifest; ``read(name)`` gives the text of a file beside it (or None)."""
    try:
        data = YAML(typ="safe").load(text)
    except YAMLError as e:
        raise PluginLoadError(manifest_file, f"{manifest_file}: not valid YAML: {e}") from e
    if not isinstance(data, dict):
        raise PluginLoadError(manifest_file, f"{manifest_file}: must be a mapping")
    problems = [f"{k}: unknown key" for k in data if k not in _MANIFEST_KEYS]
    plugin_id = data.get("id")
    if not (isinstance(plugin_id, str) and _ID.match(plugin_id)):
        problems.append("id: must be a string of a-z, 0-9, '_', '.', '-'")
        plugin_id = manifest_file
    version = data.get("version")
    if not isinstance(version, str | int | float):
        problems.append("version: required, e.g. 1.0.0")
    main = data.get("main")
    if not (isinstance(main, str) and re.fullmatch(r"[\w.]+:\w+", main)):
        problems.append("main: required as module:Class, e.g. plugin:EchoPlugin")
        main = "plugin:Plugin"
    requires = data.get("requires") or []
    if not (isinstance(requires, list) and all(isinstance(r, str) for r in requires)):
        problems.append("requires: must be a list of plugin ids")
        requires = []
    config_name = data.get("config")
    config_text = ""
    if config_name is not None:
        found = read(str(config_name)) if isinstance(config_name, str) else None
        if found is None:
            problems.append(f"config: file {config_name!r} not found beside the manifest")
        else:
            config_text = found
    if problems:
        raise PluginLoadError(plugin_id, "; ".join(f"{manifest_file}: {p}" for p in problems))
    module, class_name = main.split(":")
    directory = Path(manifest_file).parent
    return PluginSource(
        id=plugin_id,
        version=str(version),
        module=module,
        class_name=class_name,
        description=str(data.get("description", "")),
        requires=tuple(requires),
        config_text=config_text,
        config_file=str(directory / str(config_name)) if config_name else "",
        manifest_file=manifest_file,
        package="botkit_plugin_" + re.sub(r"\W", "_", plugin_id),
        directory=directory,
        location=str(directory),
        files=directory,
    )


def _from_directory(directory: Path) -> PluginSource:
    manifest = directory / "plugin.yaml"

    def read(name: str) -> str | None:
        path = directory / name
        return path.read_text(encoding="utf-8") if path.is_file() else None

    return read_manifest(manifest.read_text(encoding="utf-8"), str(manifest), read)


def _from_entry_point(ep: importlib.metadata.EntryPoint) -> PluginSource:
    files = importlib.resources.files(ep.value)

    def read(name: str) -> str | None:
        path = files / name
        return path.read_text(encoding="utf-8") if path.is_file() else None

    text = read("plugin.yaml")
    if text is None:
        raise PluginLoadError(ep.name, f"entry point {ep.name}: {ep.value} has no plugin.yaml")
    source = read_manifest(text, f"{ep.value}/plugin.yaml", read)
    where = f"entry point {ep.name} = {ep.value}"
    on_disk = files if isinstance(files, Path) else None  # None: e.g. inside a zip
    if on_disk is not None:
        where += f" ({on_disk})"
    return PluginSource(
        **{
            **source.__dict__,
            "package": ep.value,
            "directory": None,
            "location": where,
            "files": on_disk,
        }
    )


def _same_files(a: PluginSource, b: PluginSource) -> bool:
    """Whether two finds are one copy (e.g. an editable install of a plugin directory).

    The manifests are compared, not the directories: a strict editable install
    links each file into a directory of its own.
    """
    if a.files is None or b.files is None:
        return False
    try:
        return (a.files / "plugin.yaml").resolve() == (b.files / "plugin.yaml").resolve()
    except OSError:
        return False


def discover(plugin_dirs: Iterable[Path]) -> tuple[dict[str, PluginSource], list[Problem]]:
    """Every plugin in ``plugin_dirs`` and in the entry-point group, by id."""
    found: dict[str, PluginSource] = {}
    problems: list[Problem] = []

    def add(source: PluginSource) -> None:
        first = found.get(source.id)
        if first is not None and not _same_files(first, source):
            problems.append(
                Problem(
                    source.manifest_file,
                    "id",
                    f"plugin {source.id!r} is found twice: at {first.location} and at "
                    f"{source.location}; remove one of them",
                )
            )
        elif first is None:
            found[source.id] = source

    for root in plugin_dirs:
        if not root.is_dir():
            continue
        for manifest in sorted(root.glob("*/plugin.yaml")):
            try:
                add(_from_directory(manifest.parent))
            except PluginLoadError as e:
                problems.append(Problem(str(manifest), "", e.reason))
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            add(_from_entry_point(ep))
        except (PluginLoadError, ModuleNotFoundError) as e:
            problems.append(Problem(f"entry point {ep.name}", "", str(e)))
    return found, problems


@dataclass
class InstancePlan:
    """A configured, enabled instance whose plugin and config were checked."""

    name: str
    source: PluginSource
    config: dict[str, Any]
    cls: type[Plugin] | None = field(default=None, repr=False)

    def loader(self) -> type[Plugin]:
        """The class checked when the plan was made (imported once), or a fresh import."""
        return self.cls if self.cls is not None else self.source.load_class()


def check_instance(
    config: BotConfig, name: str, source: PluginSource, *, thorough: bool = False
) -> InstancePlan:
    """Import the plugin, check its handlers and the instance's config: its shape against
    the defaults, then its config class's rules (``thorough``: with the plugin's checks
    for ``botkit check``, see :meth:`Plugin.check_config`)."""
    file = str(config.path)
    inst = config.plugins[name]
    prefix = f"plugins.{name}.config"
    try:
        defaults = load_defaults(source.config_text, source.config_file or source.manifest_file)
    except Exception as e:
        raise PluginLoadError(source.id, str(e)) from e
    cls = source.load_class()
    typed = cls.config_class is not None
    if cls.config_class is not None:
        wrong = mismatched_keys(
            cls.config_class, defaults, file=source.config_file or source.manifest_file
        )
        if wrong:
            raise PluginLoadError(source.id, "config class and config.yaml disagree", wrong)
    merged, problems = merge_config(
        defaults, inst.config, file=file, key_prefix=prefix, typed=typed
    )
    if problems:
        raise PluginLoadError(source.id, f"instance {name!r} has a bad config", problems)
    try:
        HandlerTable.collect(cls())
    except TypeError as e:
        raise PluginLoadError(source.id, f"{source.module}.{source.class_name}: {e}") from e
    try:
        built = build_config(cls.config_class, merged, file=file, key_prefix=prefix)
    except ConfigError as e:
        raise PluginLoadError(source.id, f"instance {name!r} has a bad config", e.problems) from e
    found = cls.check_config(built) if thorough else []
    problems = [
        p if p.file else Problem(file, f"{prefix}.{p.key}" if p.key else prefix, p.reason)
        for p in found
    ]
    if problems:
        raise PluginLoadError(source.id, f"instance {name!r} has a bad config", problems)
    return InstancePlan(name, source, merged, cls)


def plan_instances(
    config: BotConfig, sources: dict[str, PluginSource], *, thorough: bool = False
) -> tuple[list[InstancePlan], list[Problem]]:
    """The enabled instances in start order (required plugins first), and the problems
    (``thorough``: as ``botkit check`` looks for them)."""
    file = str(config.path)
    problems: list[Problem] = []
    plans: dict[str, InstancePlan] = {}
    for name, inst in config.plugins.items():
        if not inst.enabled:
            continue
        source = sources.get(inst.plugin)
        if source is None:
            known = ", ".join(sorted(sources)) or "none found"
            problems.append(
                Problem(file, f"plugins.{name}.plugin", f"unknown plugin {inst.plugin!r} ({known})")
            )
            continue
        try:
            plans[name] = check_instance(config, name, source, thorough=thorough)
        except PluginLoadError as e:
            problems.extend(e.problems or [Problem(file, f"plugins.{name}", str(e))])
    enabled_ids = {p.source.id for p in plans.values()}
    for name, p in list(plans.items()):
        missing = [r for r in p.source.requires if r not in enabled_ids]
        if missing:
            problems.append(
                Problem(
                    file,
                    f"plugins.{name}",
                    f"plugin {p.source.id!r} requires {', '.join(missing)}, "
                    "which no enabled instance runs",
                )
            )
            del plans[name]
    return _start_order(list(plans.values())), problems


def _start_order(plans: list[InstancePlan]) -> list[InstancePlan]:
    ordered: list[InstancePlan] = []
    placed: set[str] = set()
    remaining = list(plans)
    while remaining:
        ready = [
            p
            for p in remaining
            if all(
                r in {q.source.id for q in ordered} or r == p.source.id for r in p.source.requires
            )
        ]
        if not ready:  # a cycle: start the rest in config order
            ready = remaining[:1]
        for p in ready:
            ordered.append(p)
            placed.add(p.name)
            remaining.remove(p)
    return ordered
