"""On-disk embedding cache: one SQLite file per encoder id, key = SHA-256 of the text.

SQLite gives atomic writes and safe concurrent readers for free; vectors are stored as raw float32
bytes. Prompt text itself is never stored, only its hash.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from harmscope._paths import cache_dir

_CHUNK = 500  # SQLite's default limit on host parameters is 999


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class EmbeddingCache:
    """Maps text -> vector for one encoder id."""

    def __init__(self, encoder_id: str) -> None:
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", encoder_id)[:60]
        digest = hashlib.sha256(encoder_id.encode()).hexdigest()[:12]
        self.path = cache_dir("embeddings") / f"{safe}-{digest}.sqlite"
        self._conn: sqlite3.Connection | None = None

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(self.path, timeout=60, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("CREATE TABLE IF NOT EXISTS emb (key TEXT PRIMARY KEY, vec BLOB NOT NULL)")
            self._conn = conn
        return self._conn

    def get_many(self, texts: Sequence[str]) -> list[NDArray[np.float32] | None]:
        keys = [text_key(t) for t in texts]
        found: dict[str, NDArray[np.float32]] = {}
        db = self._db()
        unique = list(dict.fromkeys(keys))
        for i in range(0, len(unique), _CHUNK):
            chunk = unique[i:i + _CHUNK]
            marks = ",".join("?" * len(chunk))
            for key, blob in db.execute(f"SELECT key, vec FROM emb WHERE key IN ({marks})", chunk):
                found[key] = np.frombuffer(blob, dtype=np.float32)
        return [found.get(k) for k in keys]

    def put_many(self, vectors: Mapping[str, NDArray[np.float32]]) -> None:
        rows = [(text_key(t), np.asarray(v, dtype=np.float32).tobytes()) for t, v in vectors.items()]
        db = self._db()
        with db:
            db.executemany("INSERT OR REPLACE INTO emb (key, vec) VALUES (?, ?)", rows)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
