"""A row-counting progress bar (rate and ETA) that follows the same policy as ``harmscope._progress``:
tqdm on stderr, only on a terminal and for enough work; ``HARMSCOPE_PROGRESS=1`` forces it on, ``=0`` off.

Batch jobs advance by whole chunks, which ``harmscope._progress.progress`` (one step per item) cannot
show as rows, hence this small wrapper.
"""

from __future__ import annotations

import os
from types import TracebackType
from typing import Any, Self

from harmscope._progress import MIN_ITEMS_FOR_BAR


class RowProgress:
    """``with RowProgress(total, initial, desc) as bar: bar.update(n)``."""

    def __init__(self, *, total: int | None, initial: int = 0, desc: str = "moderate-batch",
                 enabled: bool = True) -> None:
        self.total, self.initial, self.desc = total, initial, desc
        forced = os.environ.get("HARMSCOPE_PROGRESS")
        remaining = None if total is None else total - initial
        self.enabled = enabled and forced != "0" and (
            forced == "1" or remaining is None or remaining >= MIN_ITEMS_FOR_BAR)
        self._forced = forced == "1"
        self._bar: Any = None

    def __enter__(self) -> Self:
        if self.enabled:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=self.total, initial=self.initial, desc=self.desc, unit="row",
                             unit_scale=True, dynamic_ncols=True, smoothing=0.1,
                             disable=False if self._forced else None)
        return self

    def update(self, n: int) -> None:
        if self._bar is not None and n:
            self._bar.update(n)

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
