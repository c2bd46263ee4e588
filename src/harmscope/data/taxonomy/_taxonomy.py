"""The harmscope harm taxonomy and the tables that map every source taxonomy onto it.

Our categories follow the MLCommons AILuminate v1.0 hazards (violent crimes … sexual content), plus
four that the source sets use often and that a detector should name apart: elections, cyber (malware,
intrusion, code-interpreter abuse), misinformation and jailbreak (prompt attacks). Each source taxonomy
has one YAML file in ``tables/`` that maps the EXACT category strings its loader emits to one of our ids
(or ``null``: "unsafe, but no hazard of ours fits").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from harmscope.errors import DataFormatError, HarmscopeError

TABLES_DIR = Path(__file__).resolve().parent / "tables"
"""Where the mapping tables live: one ``<taxonomy>.yaml`` per source taxonomy."""


@dataclass(frozen=True)
class HarmCategory:
    """One harmscope harm category."""

    id: str
    """Stable identifier used in data and models (``"violent_crimes"``)."""
    name: str
    """Human-readable name."""
    description: str
    """What prompts belong here, and what does not."""
    mlcommons: str | None
    """The MLCommons AILuminate hazard code it corresponds to, or ``None`` for our additions."""


HARM_CATEGORIES: tuple[HarmCategory, ...] = (
    HarmCategory("violent_crimes", "Violent crimes",
                 "Enabling, encouraging or endorsing violence against people or animals: terrorism and "
                 "extremist violence, murder, assault, kidnapping, robbery, violent domestic abuse, threats, "
                 "animal abuse, graphic gore.", "vcr"),
    HarmCategory("non_violent_crimes", "Non-violent crimes",
                 "Fraud, scams, theft, property and financial crimes, drug and weapon trafficking, labour and "
                 "human trafficking, stalking, forgery, evading law enforcement, environmental crimes.", "ncr"),
    HarmCategory("sex_related_crimes", "Sex-related crimes",
                 "Sexual assault, rape, sex trafficking, prostitution, sexual harassment as a crime.", "src"),
    HarmCategory("child_sexual_exploitation", "Child sexual exploitation",
                 "Sexual abuse or exploitation of minors, child sexual abuse material, grooming.", "cse"),
    HarmCategory("suicide_self_harm", "Suicide & self-harm",
                 "Suicide, self-injury, disordered eating, mental-health crises, and promotion of harmful "
                 "or unhealthy behaviour such as substance abuse.", "ssh"),
    HarmCategory("indiscriminate_weapons", "Indiscriminate weapons",
                 "Chemical, biological, radiological, nuclear and high-yield explosive weapons, and other "
                 "weapons of mass harm (military strikes, land mines).", "iwp"),
    HarmCategory("hate", "Hate & harassment",
                 "Content that demeans or dehumanises people for protected characteristics (race, religion, "
                 "gender, sexuality, disability…), stereotypes and discrimination, and harassment or "
                 "bullying aimed at people.", "hte"),
    HarmCategory("privacy", "Privacy",
                 "Obtaining or exposing personal information about individuals, or sensitive information "
                 "about organisations and governments.", "prv"),
    HarmCategory("intellectual_property", "Intellectual property",
                 "Reproducing copyrighted works, violating IP or likeness rights.", "ipv"),
    HarmCategory("defamation", "Defamation",
                 "Verifiably false statements that damage a real person's or organisation's reputation.",
                 "dfm"),
    HarmCategory("specialized_advice", "Specialized advice",
                 "Unqualified medical, legal, financial or safety-critical advice that could cause material "
                 "harm if followed.", "spc"),
    HarmCategory("sexual_content", "Sexual content",
                 "Explicit sexual content and pornography involving adults, lewd language, sexual "
                 "harassment of the assistant.", "sxc"),
    HarmCategory("elections", "Elections & political influence",
                 "False information about electoral processes, political campaigning and lobbying content.",
                 "spc_ele"),
    HarmCategory("cyber", "Cyber attacks & code abuse",
                 "Malware, system intrusion, phishing, cyber terrorism, and abuse of code interpreters or "
                 "tools.", None),
    HarmCategory("misinformation", "Misinformation",
                 "Fake news, disinformation campaigns, conspiracy theories, deceptive advertising.", None),
    HarmCategory("jailbreak", "Jailbreak & prompt attack",
                 "Attempts to override the model's safety behaviour: role-play framings, obfuscation and "
                 "encoding tricks, refusal suppression.", None),
)
"""Every harmscope harm category, in documentation order."""

CATEGORY_IDS: frozenset[str] = frozenset(c.id for c in HARM_CATEGORIES)

PRECEDENCE: tuple[str, ...] = (
    "child_sexual_exploitation", "indiscriminate_weapons", "violent_crimes", "suicide_self_harm",
    "sex_related_crimes", "hate", "sexual_content", "cyber", "non_violent_crimes", "privacy", "defamation",
    "elections", "misinformation", "intellectual_property", "specialized_advice", "jailbreak",
)
"""Most severe first: when a multi-label category (``"H,V"``) maps to several ids, the first one wins."""


class UnknownCategoryError(HarmscopeError):
    """A source emitted a category string that its mapping table does not list."""

    def __init__(self, source: str, category: str, table: MappingTable) -> None:
        self.source, self.category, self.table = source, category, table
        super().__init__(f"category {category!r} of source {source!r} is not in the {table.taxonomy!r} "
                         f"mapping table; add it (to a harmscope id or null) in {table.file}")


@dataclass(frozen=True)
class MappingTable:
    """One source taxonomy's mapping onto harmscope ids, as read from its YAML file."""

    taxonomy: str
    title: str
    url: str
    applies_to: tuple[str, ...]
    """Registered dataset names (a name also covers its ``name/part`` sources)."""
    multi_label: bool
    """Categories may be comma-joined lists of source labels (each is mapped; see :data:`PRECEDENCE`)."""
    mapping: Mapping[str, str | None]
    """Exact source category string -> harmscope id, or ``None`` for "no hazard of ours fits"."""
    file: Path


def _read_table(path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise DataFormatError(path, f"invalid YAML: {error}") from None
    if not isinstance(data, dict):
        raise DataFormatError(path, "expected a mapping with taxonomy, title, applies_to, mapping")
    for key in ("taxonomy", "title", "url", "applies_to", "mapping"):
        if key not in data:
            raise DataFormatError(path, f"missing key {key!r}")
    if data["taxonomy"] != path.stem:
        raise DataFormatError(path, f"taxonomy {data['taxonomy']!r} must equal the file name {path.stem!r}")
    mapping = data["mapping"] or {}
    if not isinstance(mapping, dict):
        raise DataFormatError(path, "'mapping' must be a mapping of source category -> harmscope id or null")
    for source_category, target in mapping.items():
        if target is not None and target not in CATEGORY_IDS:
            raise DataFormatError(path, f"{source_category!r} maps to {target!r}, which is not a harmscope "
                                  f"category; use one of {sorted(CATEGORY_IDS)} or null")
    return data


@cache
def mapping_tables() -> Mapping[str, MappingTable]:
    """Every mapping table in :data:`TABLES_DIR` by taxonomy name. Read and validated once."""
    return load_tables(TABLES_DIR)


def load_tables(directory: Path) -> dict[str, MappingTable]:
    """Read and validate every ``*.yaml`` table in ``directory``, merging ``include:`` tables in.

    Raises :class:`~harmscope.errors.DataFormatError` naming the file for a missing key, a target that is
    not a harmscope id, an unknown include, or a source claimed by two tables.
    """
    raw = {p.stem: (p, _read_table(p)) for p in sorted(directory.glob("*.yaml"))}
    tables: dict[str, MappingTable] = {}
    claimed: dict[str, str] = {}
    for name, (path, data) in raw.items():
        merged: dict[str, str | None] = {}
        for included in data.get("include") or []:
            if included not in raw:
                raise DataFormatError(path, f"include {included!r} names no table in {directory}")
            for key, value in (raw[included][1]["mapping"] or {}).items():
                if key in merged and merged[key] != value:
                    raise DataFormatError(path, f"included tables disagree on {key!r}")
                merged[key] = value
        for key, value in (data["mapping"] or {}).items():
            if key in merged and merged[key] != value:
                raise DataFormatError(path, f"{key!r} maps to {value!r} here but {merged[key]!r} in an include")
            merged[str(key)] = value
        applies = tuple(str(a) for a in data["applies_to"])
        for source in applies:
            if source in claimed:
                raise DataFormatError(path, f"source {source!r} is already mapped by {claimed[source]!r}")
            claimed[source] = name
        tables[name] = MappingTable(taxonomy=name, title=str(data["title"]), url=str(data["url"]),
                                    applies_to=applies, multi_label=bool(data.get("multi_label", False)),
                                    mapping=merged, file=path)
    return tables


def table_for(source: str) -> MappingTable | None:
    """The table that maps ``source`` (a record's ``source``, e.g. ``"harmbench/standard"``, or a
    taxonomy name such as ``"catqa"``), or ``None`` when the source has no harm taxonomy.

    The most specific ``applies_to`` name wins: ``red_instruct_catqa_harmfulqa/catqa`` is mapped while
    ``red_instruct_catqa_harmfulqa/harmfulqa`` (academic topics) is not.
    """
    tables = mapping_tables()
    if source in tables:
        return tables[source]
    best: tuple[int, MappingTable] | None = None
    for table in tables.values():
        for name in table.applies_to:
            if (source == name or source.startswith(name + "/")) and (best is None or len(name) > best[0]):
                best = (len(name), table)
    return best[1] if best else None


def map_category(source: str, category: str | None) -> str | None:
    """The harmscope category id for ``category`` as the loader of ``source`` emits it.

    ``None`` when the category is ``None``, when the source has no mapping table, or when the table maps
    it to null (unsafe, but none of our hazards fits). Raises :class:`UnknownCategoryError` for a string
    the source's table does not list, so a loader change cannot silently drop categories.
    """
    if category is None:
        return None
    table = table_for(source)
    if table is None:
        return None
    if category in table.mapping:
        return table.mapping[category]
    if not table.multi_label:
        raise UnknownCategoryError(source, category, table)
    ids = set()
    for part in (p.strip() for p in category.split(",")):
        if part not in table.mapping:
            raise UnknownCategoryError(source, part, table)
        if table.mapping[part] is not None:
            ids.add(table.mapping[part])
    return min(ids, key=PRECEDENCE.index) if ids else None


def get_category(category_id: str) -> HarmCategory:
    """The :class:`HarmCategory` with this id (``KeyError`` names the valid ids)."""
    for c in HARM_CATEGORIES:
        if c.id == category_id:
            return c
    raise KeyError(f"{category_id!r} is not a harmscope category; valid: {sorted(CATEGORY_IDS)}")
