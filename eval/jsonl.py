"""Reading the eval's JSONL files: one object a line, blank lines skipped, errors with path:line."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path


def numbered_objects(path: Path | str) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each non-blank line; a line that is not JSON raises ValueError."""
    with Path(path).open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                yield n, json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{n}: not JSON ({exc.msg})") from None
