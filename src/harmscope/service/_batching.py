"""Micro-batching of concurrent ``/v1/moderations`` requests: one detector call for many requests.

A request's texts are checked at once (bad input still answers 400 at once), then queued. A single
collector task takes the first queued request, gathers more for up to ``max_wait_s`` or until
``max_texts`` texts are queued, and runs ONE ``explain`` over all their texts on a worker thread. Requests
that queue while a batch runs are all taken by the next batch without waiting, so under load batches grow
by themselves and an idle service adds at most ``max_wait_s`` to a request.

Each request still gets its own request id, verdicts, log line and :class:`Decision` records (through the
moderator's sink); ``latency_ms`` is the detector time of the batch it rode in. Scores are those of a
sequential call: explaining texts together or apart gives the same result for every detector here, up to
float rounding (quantised ONNX encoders run one text per graph run for exactly this; docs/speed.md).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread

from harmscope.service.moderator import Endpoint, ModerationOutcome, Moderator, new_request_id

log = logging.getLogger("harmscope.service")


@dataclass(frozen=True)
class _Pending:
    """One queued request."""

    moderator: Moderator
    texts: list[str]
    request_id: str
    endpoint: Endpoint
    future: asyncio.Future[ModerationOutcome] = field(repr=False)


@dataclass(frozen=True)
class BatchStats:
    """What the batcher has done so far (for tests and logs)."""

    batches: int
    requests: int
    texts: int
    largest_batch: int


class MicroBatcher:
    """Gathers concurrent moderation requests into single detector calls (see the module doc).

    ``max_wait_s``: how long the first request of a batch waits for company; ``max_texts``: a batch stops
    gathering once it holds this many texts (a request is never split).
    """

    def __init__(self, max_wait_s: float, max_texts: int = 64) -> None:
        if max_wait_s < 0 or max_texts < 1:
            raise ValueError("max_wait_s must be >= 0 and max_texts >= 1")
        self.max_wait_s = max_wait_s
        self.max_texts = max_texts
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[_Pending] | None = None
        self._task: asyncio.Task[None] | None = None
        self._batches = self._requests = self._texts = self._largest = 0

    def stats(self) -> BatchStats:
        return BatchStats(self._batches, self._requests, self._texts, self._largest)

    async def moderate(self, moderator: Moderator, texts: Sequence[str], *, request_id: str | None = None,
                       endpoint: Endpoint = "moderations") -> ModerationOutcome:
        """Like ``moderator.moderate(texts, ...)``, but possibly in one detector call with other requests."""
        items = moderator.check_texts(texts)  # InputError here, before queueing
        queue = self._ensure_running()
        loop = asyncio.get_running_loop()
        pending = _Pending(moderator, items, request_id or new_request_id(), endpoint, loop.create_future())
        queue.put_nowait(pending)
        return await pending.future  # cancelling the request cancels the future; the batch skips it

    def _ensure_running(self) -> asyncio.Queue[_Pending]:
        loop = asyncio.get_running_loop()
        if self._queue is None or self._loop is not loop or self._task is None or self._task.done():
            # First use, or a new event loop (e.g. a second test client on the same app).
            self._loop = loop
            self._queue = asyncio.Queue()
            self._task = loop.create_task(self._collect(self._queue), name="harmscope-micro-batcher")
        return self._queue

    async def close(self) -> None:
        """Stop the collector; queued requests that no batch took are cancelled."""
        task, queue = self._task, self._queue
        self._task = self._queue = self._loop = None
        if task is not None and not task.done():
            task.cancel()
            try:
                await task
            except (asyncio.CancelledError, RuntimeError):
                pass
        while queue is not None and not queue.empty():
            queue.get_nowait().future.cancel()

    async def _gather(self, queue: asyncio.Queue[_Pending]) -> list[_Pending]:
        first = await queue.get()
        batch, n = [first], len(first.texts)
        deadline = time.monotonic() + self.max_wait_s
        while n < self.max_texts:
            try:
                item = queue.get_nowait()
            except asyncio.QueueEmpty:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    item = await asyncio.wait_for(queue.get(), remaining)
                except TimeoutError:
                    break
            batch.append(item)
            n += len(item.texts)
        return batch

    async def _collect(self, queue: asyncio.Queue[_Pending]) -> None:
        while True:
            batch = await self._gather(queue)
            live = [p for p in batch if not p.future.done()]
            # One detector call per moderator (there is one per app; this only guards odd uses).
            groups: dict[int, list[_Pending]] = {}
            for p in live:
                groups.setdefault(id(p.moderator), []).append(p)
            for group in groups.values():
                try:
                    results = await anyio.to_thread.run_sync(_run_batch, group, abandon_on_cancel=True)
                except asyncio.CancelledError:
                    for p in group:
                        if not p.future.done():
                            p.future.cancel()
                    raise
                except Exception as error:  # noqa: BLE001  (every request of the batch gets the error)
                    results = [error] * len(group)
                for p, result in zip(group, results, strict=True):
                    if p.future.done():  # the request gave up (time limit, client gone)
                        continue
                    if isinstance(result, BaseException):
                        p.future.set_exception(result)
                    else:
                        p.future.set_result(result)
                n_texts = sum(len(p.texts) for p in group)
                self._batches += 1
                self._requests += len(group)
                self._texts += n_texts
                self._largest = max(self._largest, n_texts)


def _run_batch(group: list[_Pending]) -> list[ModerationOutcome | Exception]:
    """On a worker thread: one ``explain`` over every text of ``group``, then per request its verdicts,
    decisions (to the sink) and log line, exactly as :meth:`Moderator.moderate` makes them."""
    mod = group[0].moderator
    texts = [t for p in group for t in p.texts]
    explanations, ms = mod._explain(mod.detector, texts)
    if len(explanations) != len(texts):
        raise RuntimeError(f"the detector returned {len(explanations)} explanations for {len(texts)} texts")
    out: list[ModerationOutcome | Exception] = []
    offset = 0
    for p in group:
        mine = explanations[offset:offset + len(p.texts)]
        offset += len(p.texts)
        try:
            out.append(_finish(mod, p, mine, ms, len(group)))
        except Exception as error:  # noqa: BLE001  (only this request fails)
            out.append(error)
    return out


def _finish(mod: Moderator, p: _Pending, explanations: list[Any], ms: float, batch_requests: int) -> ModerationOutcome:
    verdicts = tuple(mod._verdict(i, t, e) for i, (t, e) in enumerate(zip(p.texts, explanations, strict=True)))
    mod._emit(p.request_id, p.endpoint, verdicts, ms, policy_override=False, texts=p.texts)
    outcome = ModerationOutcome(p.request_id, verdicts, ms)
    log.info("screened request=%s endpoint=%s n=%d chars=%d flagged=%d max_score=%.3f latency_ms=%.1f "
             "batch_requests=%d", p.request_id, p.endpoint, len(p.texts), sum(v.chars for v in verdicts),
             sum(v.flagged for v in verdicts), outcome.max_score, ms, batch_requests)
    return outcome
