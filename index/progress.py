"""A progress bar on stderr for long commands (indexing, eval), as a callback the work calls."""
from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def progress_bar(total: int, unit: str, desc: str, enabled: bool = True
                 ) -> Iterator[Callable[[str], None] | None]:
    """``step(label)`` advancing a tqdm bar by one, or None when disabled or stderr is no terminal."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm

    bar = tqdm(total=total, unit=unit, file=sys.stderr, desc=desc)

    def step(label: str = "") -> None:
        bar.update(1)
        if label:
            bar.set_postfix_str(label)

    try:
        yield step
    finally:
        bar.close()
