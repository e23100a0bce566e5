"""Load settings from a TOML file and the environment (the edge; the core never does this).

Precedence: defaults < TOML file < environment. Environment names:
``AUTHKEEPER_<FIELD>`` for top-level fields (``AUTHKEEPER_SECRET``, ``AUTHKEEPER_BASE_URL``),
``AUTHKEEPER_<SECTION>__<FIELD>`` for one field of a section
(``AUTHKEEPER_RATE_LIMIT__ENABLED=false``), ``AUTHKEEPER_<SECTION>`` for a whole section
as JSON (``AUTHKEEPER_RATE_LIMIT='{"rules": {"/sign-in/*": {"window": 10, "max": 5}}}'``),
``AUTHKEEPER_ENV`` for the mode and ``DATABASE_URL`` for the database.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .core.settings import Settings, section_types


class ConfigError(ValueError):
    """A setting is wrong; the message names the key."""


def _convert(value: Any, tp: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        if isinstance(value, str) and value.lower() in ("", "none", "null") and type(None) in args:
            return None
        errors_seen = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(value, arg, key)
            except ConfigError as exc:
                errors_seen.append(str(exc))
        raise ConfigError(errors_seen[0] if errors_seen else f"{key}: invalid value")
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{key}: must be one of {', '.join(map(str, args))}, not {value!r}")
        return value
    if origin is tuple:
        if isinstance(value, str):
            value = (
                json.loads(value)
                if value.strip().startswith("[")
                else [v.strip() for v in value.split(",") if v.strip()]
            )
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{key}: expected a list")
        return tuple(_convert(v, args[0], f"{key}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if isinstance(value, str):
            value = _json(value, key)
        if not isinstance(value, Mapping):
            raise ConfigError(f"{key}: expected a table")
        return {str(k): _convert(v, args[1], f"{key}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        if isinstance(value, str):
            value = _json(value, key)
        if not isinstance(value, Mapping):
            raise ConfigError(f"{key}: expected a table")
        return build(tp, value, key)
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "1", "yes", "on", "false", "0", "no", "off"):
            return value.lower() in ("true", "1", "yes", "on")
        raise ConfigError(f"{key}: expected true or false, not {value!r}")
    if tp is int:
        if isinstance(value, bool):
            raise ConfigError(f"{key}: expected an integer")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key}: expected an integer, not {value!r}") from None
    if tp is float:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key}: expected a number, not {value!r}") from None
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string")
        return value
    return value


def _json(text: str, key: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{key}: invalid JSON ({exc.msg})") from None


def build(cls: Any, data: Mapping[str, Any], prefix: str = "") -> Any:
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    # The plugins' sections ([admin], [two_factor], ...) sit beside the core's in Settings.
    plugin_sections = section_types() if cls is Settings else {}
    kwargs = {}
    for key, value in data.items():
        full = f"{prefix}.{key}" if prefix else key
        if key in plugin_sections and key not in names:
            kwargs[key] = _convert(value, plugin_sections[key], full)
            continue
        if key not in names or key == "sections" and cls is Settings:
            raise ConfigError(f"{full}: unknown setting")
        kwargs[key] = _convert(value, hints[key], full)
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"{prefix or 'settings'}: {exc}") from None


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


NOT_SETTINGS = frozenset({"config", "new_password"})
"""``AUTHKEEPER_*`` variables that are read elsewhere, not settings: the config file's path, and
the password ``authkeeper users create`` and ``set-password`` read instead of a prompt."""


def env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    hints = typing.get_type_hints(Settings)
    top = set(hints) - {"sections"}
    sections = {name for name, tp in hints.items() if dataclasses.is_dataclass(tp)} | set(section_types())
    out: dict[str, Any] = {}
    for name, value in sorted(environ.items()):
        if not name.startswith("AUTHKEEPER_"):
            continue
        rest = name[len("AUTHKEEPER_") :].lower()
        if rest == "env":
            out["mode"] = value
            continue
        if "__" in rest:
            section, _, field_name = rest.partition("__")
            if section not in sections:
                raise ConfigError(f"{name}: unknown section {section!r}")
            out.setdefault(section, {})[field_name] = value
        elif rest in sections:
            parsed = _json(value, name)
            if not isinstance(parsed, dict):
                raise ConfigError(f"{name}: expected a JSON object")
            _merge(out.setdefault(rest, {}), parsed)
        elif rest in top:
            out[rest] = value
        elif rest not in NOT_SETTINGS:
            raise ConfigError(f"{name}: unknown setting")
    if environ.get("DATABASE_URL"):
        out.setdefault("database", {})["url"] = environ["DATABASE_URL"]
    return out


def load_settings(
    config_file: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    secret_file: Path | None = None,
) -> Settings:
    """Settings from the file and environment. In development, a missing secret is generated
    once and kept in ``.authkeeper-secret`` (mode 0600) so sessions survive restarts."""
    from .auth import declare_sections

    declare_sections()  # [admin], [two_factor], [jwt] are known before the file is read
    environ = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    path = config_file or environ.get("AUTHKEEPER_CONFIG")
    if path:
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError(f"config: file not found: {path}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config: invalid TOML in {path}: {exc}") from None
    _merge(data, env_overrides(environ))
    settings: Settings = build(Settings, data)
    if not settings.secret and not settings.is_production:
        settings = dataclasses.replace(settings, secret=_dev_secret(secret_file or DEV_SECRET_FILE))
    return settings


DEV_SECRET_FILE = Path(".authkeeper-secret")
"""Where development mode keeps the secret it generated (in the working directory)."""


def _dev_secret(path: Path) -> str:
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    return value
