"""Shared test settings: models load offline, progress bars stay quiet."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HARMSCOPE_PROGRESS", "0")
