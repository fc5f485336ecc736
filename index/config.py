"""Where the index lives: --db, else POLICYCHAT_DB, else the user's data dir; which Chroma;
and numeric settings read from the environment."""
from __future__ import annotations

import os
from pathlib import Path

BUNDLED_CORPUS = Path(__file__).resolve().parent / "corpus"


def default_db_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "policychat"


def resolve_db_dir(arg: str | os.PathLike | None) -> Path:
    """The index directory from the flag, the environment, or the default, in that order."""
    value = arg or os.environ.get("POLICYCHAT_DB")
    return Path(value).expanduser() if value else default_db_dir()


def resolve_chroma_url(arg: str | None) -> str | None:
    """An http(s) URL of a Chroma server from --chroma-url or CHROMA_HOST/CHROMA_PORT; None = embedded."""
    if arg:
        return arg
    host = os.environ.get("CHROMA_HOST")
    if not host:
        return None
    port = os.environ.get("CHROMA_PORT", "8000")
    return host if host.startswith("http") else f"http://{host}:{port}"


class SettingError(ValueError):
    """A setting from the environment that cannot be used (a configuration mistake)."""


def number_setting(name: str, default: float, kind: type = float, minimum: float | None = None):
    """$NAME as an int or float (``kind``), ``default`` when unset; a clear error when it is
    not a number or below ``minimum``."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise SettingError(f"{name} must be {'a whole number' if kind is int else 'a number'}, not {raw!r}") from None
    if minimum is not None and not value >= minimum:
        raise SettingError(f"{name} must be at least {minimum}, not {raw!r}")
    return value
