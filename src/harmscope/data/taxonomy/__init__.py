"""The harmscope harm taxonomy (MLCommons hazards + elections, cyber, misinformation, jailbreak) and one
mapping table per source taxonomy (``tables/*.yaml``), documented in ``docs/training-data.md``.

>>> from harmscope.data.taxonomy import map_category
>>> map_category("ailuminate_demo", "vcr")
'violent_crimes'
>>> map_category("harmbench/standard", "cybercrime_intrusion")
'cyber'
"""

from __future__ import annotations

from harmscope.data.taxonomy._taxonomy import (
    CATEGORY_IDS,
    HARM_CATEGORIES,
    PRECEDENCE,
    TABLES_DIR,
    HarmCategory,
    MappingTable,
    UnknownCategoryError,
    get_category,
    load_tables,
    map_category,
    mapping_tables,
    table_for,
)

__all__ = [
    "CATEGORY_IDS",
    "HARM_CATEGORIES",
    "PRECEDENCE",
    "TABLES_DIR",
    "HarmCategory",
    "MappingTable",
    "UnknownCategoryError",
    "get_category",
    "load_tables",
    "map_category",
    "mapping_tables",
    "table_for",
]
