"""Where the index lives: --db, else POLICYCHAT_DB, else the user's data dir; which Chroma."""
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
