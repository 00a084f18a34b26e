"""Reading etl_config.yaml: YAML, placeholders, defaults and templates, then pydantic validation (docs/architecture.md §2)."""

from __future__ import annotations

import os
import re
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from etl_assets.config.collisions import collision_problems
from etl_assets.config.interpolation import Interpolator
from etl_assets.config.limits import LimitExceeded, check_layered, check_yaml
from etl_assets.config.mart_sources import mart_problems
from etl_assets.config.marts import MART_NAME_PATTERN
from etl_assets.config.merging import deep_merge, template_chain
from etl_assets.config.messages import describe_validation_error
from etl_assets.config.models import ProjectConfig
from etl_assets.config.problems import ConfigFileError, Location, config_location, dataset_location
from etl_assets.config.secrets import secret_problems
from etl_assets.config.targets import target_problems
from etl_assets.quality.validation import rule_problems

CONFIG_ENV_VAR = "ETL_ASSETS_CONFIG"
DEFAULT_CONFIG_NAME = "etl_config.yaml"
TOP_LEVEL_KEYS = ("version", "variables", "defaults", "templates", "datasets", "marts", "alerts")
YAML_MERGE_TAG = "tag:yaml.org,2002:merge"


def default_config_path(environ: Mapping[str, str] | None = None) -> Path:
    """$ETL_ASSETS_CONFIG if set, else etl_config.yaml in the working directory."""
    environ = os.environ if environ is None else environ
    return Path(environ.get(CONFIG_ENV_VAR) or DEFAULT_CONFIG_NAME)


def load_config(path: str | Path | None = None, *, environ: Mapping[str, str] | None = None) -> ProjectConfig:
    """The validated project config; any problem is one ConfigFileError naming file, dataset and field."""
    environ = os.environ if environ is None else environ
    path = Path(path) if path is not None else default_config_path(environ)
    file = str(path)
    document = _read_document(path)
    unknown = [key for key in document if key not in TOP_LEVEL_KEYS]
    if unknown:
        raise Location(file).error(f"unknown key {unknown[0]!r}; allowed: {', '.join(TOP_LEVEL_KEYS)}.")

    interpolator = Interpolator(environ, _mapping_section(document, "variables", file), file)
    interpolator.resolve_variables()
    defaults = interpolator.resolve(_mapping_section(document, "defaults", file), Location(file, "defaults"))
    templates = {
        name: interpolator.resolve(_template(name, fragment, file), Location(file, f"template '{name}'"))
        for name, fragment in _mapping_section(document, "templates", file).items()
    }
    datasets = {
        name: _layered_dataset(name, raw, defaults, templates, interpolator, file)
        for name, raw in _datasets_section(document, file).items()
    }
    try:
        check_layered(datasets)
    except LimitExceeded as exc:
        raise dataset_location(file, exc.dataset).error(exc.problem) from None
    marts = {name: _mart(name, raw, interpolator, file) for name, raw in _mapping_section(document, "marts", file).items()}
    top = {"source_file": path.resolve(), "datasets": datasets, "marts": marts}
    if "alerts" in document:
        top["alerts"] = interpolator.resolve(document["alerts"], Location(file, None, ("alerts",)))
    if "version" in document:
        top["version"] = interpolator.resolve(document["version"], Location(file, None, ("version",)))
    try:
        config = ProjectConfig.model_validate(top)
    except ValidationError as exc:
        details = [describe_validation_error(error, file) for error in exc.errors(include_url=False)]
        raise ConfigFileError(details) from exc
    _reject_misplaced_secrets(config, file, environ)
    _reject_dataset_problems(config, file)
    return config


class _UniqueKeyLoader(yaml.SafeLoader):
    """safe_load, except that a key given twice in one mapping is an error instead of silently winning."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == YAML_MERGE_TAG:
                continue
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, Hashable) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice in the same mapping; keep one", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _read_document(path: Path) -> dict[Any, Any]:
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigFileError(
            [f"{file}: no such file (looked at {path.resolve()}); create it, or set {CONFIG_ENV_VAR} to its path."]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigFileError([f"{file}: cannot be read ({exc}); make it a readable UTF-8 text file."]) from exc
    try:
        check_yaml(text)
        document = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except LimitExceeded as exc:
        raise ConfigFileError([f"{file}{_position(exc.mark)}: {exc.problem}"]) from None
    except yaml.MarkedYAMLError as exc:
        problem = exc.problem or exc.context or "not valid YAML"
        position = _position(exc.problem_mark or exc.context_mark)
        raise ConfigFileError([f"{file}{position}: invalid YAML ({problem}); fix it there."]) from exc
    except yaml.YAMLError as exc:
        raise ConfigFileError([f"{file}: invalid YAML ({exc}); fix the file's syntax."]) from exc
    if not isinstance(document, dict):
        held = "nothing" if document is None else f"a {type(document).__name__}"
        raise ConfigFileError(
            [f"{file}: must hold a mapping with at least a `datasets:` key, but holds {held}; add your datasets."]
        )
    return document


def _position(mark: yaml.Mark | None) -> str:
    return f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""


def _mapping_section(document: Mapping[Any, Any], key: str, file: str) -> dict[Any, Any]:
    section = document.get(key)
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise Location(file, None, (key,)).error(f"got {section!r}; it must be a mapping of names to values.")
    return section


def _template(name: Any, fragment: Any, file: str) -> dict[Any, Any]:
    if not isinstance(fragment, dict):
        where = Location(file, f"template '{name}'")
        raise where.error(f"got {fragment!r}; a template is a mapping of dataset settings.")
    return fragment


def _datasets_section(document: Mapping[Any, Any], file: str) -> dict[Any, Any]:
    where = Location(file, None, ("datasets",))
    if "datasets" not in document:
        raise where.error("required but missing; declare your datasets under a top-level `datasets:` mapping.")
    datasets = document["datasets"]
    if not isinstance(datasets, dict):
        raise where.error(f"got {datasets!r}; it must map each dataset's name to its settings.")
    if not datasets:
        raise where.error("is empty; declare at least one dataset.")
    return datasets


def _layered_dataset(
    name: Any,
    raw: Any,
    defaults: Mapping[str, Any],
    templates: Mapping[str, Mapping[str, Any]],
    interpolator: Interpolator,
    file: str,
) -> dict[str, Any]:
    where = dataset_location(file, name)
    if not isinstance(raw, dict):
        raise where.error(f"got {raw!r}; a dataset is a mapping with at least `source` and `load`.")
    if "name" in raw:
        raise where.child("name").error("a dataset is named by its key under `datasets`; remove this field.")
    dataset = interpolator.resolve(raw, where)
    # `extends` may come from the defaults too, so it is looked up after layering them.
    extends = deep_merge(defaults, dataset).get("extends")
    chain = template_chain(extends, templates, where.child("extends"))
    return _with_absolute_local_path(deep_merge(defaults, *chain, dataset, {"name": name}))


def _mart(name: Any, raw: Any, interpolator: Interpolator, file: str) -> dict[str, Any]:
    where = Location(file, None, ("marts", name))
    if not isinstance(raw, dict):
        raise where.error(f"got {raw!r}; a mart is a mapping with `from` and either `sql` or `function`.")
    if "name" in raw:
        raise where.child("name").error("a mart is named by its key under `marts`; remove this field.")
    if not isinstance(name, str) or not re.fullmatch(MART_NAME_PATTERN, name):
        raise where.error(f"the name {name!r} is not a mart name; use lower-case letters, digits and underscores, starting with a letter.")
    return {**interpolator.resolve(raw, where), "name": name}


def _with_absolute_local_path(dataset: dict[str, Any]) -> dict[str, Any]:
    source = dataset.get("source")
    if not isinstance(source, dict) or not isinstance(source.get("path"), str) or source["path"].startswith("s3://"):
        return dataset
    return {**dataset, "source": {**source, "path": os.path.abspath(os.path.expanduser(source["path"]))}}


def _reject_misplaced_secrets(config: ProjectConfig, file: str, environ: Mapping[str, str]) -> None:
    def profiles() -> list[str]:
        # Imported here: the vault pulls in cryptography, which only a config holding secrets needs.
        from etl_assets.credentials import Vault
        from etl_assets.paths import ProjectPaths

        return Vault.for_home(ProjectPaths.from_env().home, environ).names()

    details = [config_location(file, path).describe(problem) for path, problem in secret_problems(config, profiles)]
    if details:
        raise ConfigFileError(details)


def _reject_dataset_problems(config: ProjectConfig, file: str) -> None:
    names = set(config.datasets)
    details = [
        dataset_location(file, name, (field,)).describe(problem)
        for name, dataset in config.datasets.items()
        for field, problem in [*target_problems(dataset), *rule_problems(dataset, names)]
    ]
    details += [
        dataset_location(file, name, (field,)).describe(problem)
        for name, field, problem in collision_problems(config.datasets)
    ]
    details += [
        Location(file, None, ("marts", name, field)).describe(problem)
        for name, field, problem in mart_problems(config.marts, config.datasets)
    ]
    if details:
        raise ConfigFileError(details)
