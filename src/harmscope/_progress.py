"""One place that decides how progress is shown: tqdm on stderr, only when it helps."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

# Below this many items a bar is noise.
MIN_ITEMS_FOR_BAR = 64


def progress(items: Iterable[T], *, total: int | None, desc: str, unit: str = "it") -> Iterator[T]:
    """Wrap ``items`` in a tqdm bar on stderr when ``total`` is large and stderr is a terminal.

    ``HARMSCOPE_PROGRESS=1`` forces the bar on (e.g. in logs), ``=0`` forces it off.
    """
    forced = os.environ.get("HARMSCOPE_PROGRESS")
    if forced == "0" or (forced != "1" and (total is not None and total < MIN_ITEMS_FOR_BAR)):
        yield from items
        return
    from tqdm.auto import tqdm

    # disable=None lets tqdm switch itself off when stderr is not a terminal (CI logs stay clean).
    yield from tqdm(items, total=total, desc=desc, unit=unit, disable=None if forced != "1" else False,
                    dynamic_ncols=True, leave=False)
