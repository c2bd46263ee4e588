"""Shared test settings: models load offline, progress bars stay quiet."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HARMSCOPE_PROGRESS", "0")
# Multi-threaded BLAS on a 2-core machine shared with model tests thrashes (a 256x256 Cholesky ran ~200x
# slower); tests use one BLAS thread.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
