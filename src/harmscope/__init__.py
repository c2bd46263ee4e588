"""harmscope: decide whether a prompt sent to an LLM is unsafe, say why, and steer what "unsafe" means.

Importing this package is cheap: heavy libraries (torch, transformers, matplotlib, fastapi) are only
imported inside the functions that need them. Public names are resolved lazily on first access.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> "module:attr"; resolved on first attribute access so `import harmscope` stays light.
_LAZY: dict[str, str] = {
    "PromptRecord": "harmscope.types:PromptRecord",
    "HarmscopeError": "harmscope.errors:HarmscopeError",
    "get_encoder": "harmscope.encoders:get_encoder",
    "load_dataset": "harmscope.data:load_dataset",
    "list_datasets": "harmscope.data:list_datasets",
}

__all__ = [
    "HarmscopeError",
    "PromptRecord",
    "__version__",
    "get_encoder",
    "list_datasets",
    "load_dataset",
]


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'harmscope' has no attribute {name!r}")
    module_name, attr = target.split(":")
    value = getattr(importlib.import_module(module_name), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
