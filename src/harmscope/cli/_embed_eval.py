"""`harmscope embed-eval` (placeholder: being written)."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("embed-eval", help="(not yet available)")
    p.set_defaults(func=None)
