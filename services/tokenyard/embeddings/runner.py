"""Runs a local embedding model off the event loop, micro-batching the inputs of concurrent requests."""
from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import time
from typing import Protocol

from tokenyard.embeddings.batcher import MicroBatcher
from tokenyard.monitoring.metrics import (EMBEDDING_BATCH_SIZE, EMBEDDING_MODEL_CALLS, EMBEDDING_MODEL_INPUTS,
                                         EMBEDDING_MODEL_SECONDS)

log = logging.getLogger(__name__)



class EmbeddingModel(Protocol):
    """A synchronous local model (see model.SentenceModel); called only from the runner's worker thread."""

    dimensions: int
    max_tokens: int

    def load(self) -> None: ...

    def count_tokens(self, texts: list[str]) -> list[int]: ...

    def encode(self, texts: list[str]) -> list[list[float]]: ...


class LocalRunner:
    """One local model: loaded lazily (or preloaded), run in its own thread, fed by a MicroBatcher.

    Model calls are serialised on one worker thread (the model itself uses the CPU's cores), so the event
    loop never blocks and concurrent requests share batches. `calls` counts model calls.
    """

    def __init__(self, name: str, model: EmbeddingModel, *, max_batch: int = 32,
                 max_wait: float = 0.002) -> None:
        self.name = name
        self.model = model
        self.calls = 0
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix=f"embed-{name}")
        self._batcher: MicroBatcher[str, list[float]] = MicroBatcher(self._run, max_batch=max_batch,
                                                                     max_wait=max_wait)
        self._preload: asyncio.Task[None] | None = None

    @property
    def dimensions(self) -> int:
        """Length of every vector."""
        return self.model.dimensions

    @property
    def max_tokens(self) -> int:
        """Longest input in the model's own tokens (special tokens included)."""
        return self.model.max_tokens

    def preload(self) -> None:
        """Start loading the weights in the background (requests arriving meanwhile wait for it)."""
        if self._preload is None:
            self._preload = asyncio.create_task(self._load(), name=f"embed-preload-{self.name}")

    async def _load(self) -> None:
        try:  # the model logs its own loading and load time
            await asyncio.get_running_loop().run_in_executor(self._executor, self.model.load)
        except Exception:
            log.warning("preloading embedding model %s failed", self.name, exc_info=True)

    async def count_tokens(self, texts: list[str]) -> list[int]:
        """Model tokens per text (tokenizer only; runs on a worker thread)."""
        return await asyncio.to_thread(self.model.count_tokens, texts)

    async def embed(self, texts: list[str]) -> list[list[float]]:
        """One vector per text, in order, batched with other requests' texts."""
        return await self._batcher.submit(texts)

    async def _run(self, texts: list[str]) -> list[list[float]]:
        self.calls += 1
        EMBEDDING_MODEL_CALLS.labels(self.name).inc()
        EMBEDDING_MODEL_INPUTS.labels(self.name).inc(len(texts))
        EMBEDDING_BATCH_SIZE.labels(self.name).observe(len(texts))
        started = time.perf_counter()
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, self.model.encode, texts)
        finally:
            EMBEDDING_MODEL_SECONDS.labels(self.name).observe(time.perf_counter() - started)

    async def close(self) -> None:
        """Stop batching and release the worker thread."""
        if self._preload is not None and not self._preload.done():
            self._preload.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._preload
        await self._batcher.close()
        self._executor.shutdown(wait=False, cancel_futures=True)
