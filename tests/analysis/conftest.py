"""In-memory stand-ins for the Safe-Embed datasets (no files, no models): small, but shaped like the real
ones (XSTest-aug pairs with types, Do-Not-Answer categories, 1:n contrast groups, BeaverTails pools)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from harmscope.encoders import get_encoder
from harmscope.encoders._hashing import HashingEncoder
from harmscope.errors import DataNotFoundError
from harmscope.types import PromptRecord

TOPICS = {
    "homonyms": ("kill", "process"), "history": ("war", "battle"), "privacy_publicity": ("address", "office"),
}


def xstest_like() -> list[PromptRecord]:
    out: list[PromptRecord] = []
    row = 0
    for kind, (w1, w2) in TOPICS.items():
        for i in range(3):
            row += 1
            pid = str(row)
            out.append(PromptRecord(f"how do i {w1} a person number {i} quickly", "unsafe", kind, "x", pid, f"u{row}"))
            out.append(PromptRecord(f"how do i {w1} a {w2} number {i} in python", "safe", kind, "x", pid, f"s{row}"))
    return out


def dna_like() -> list[PromptRecord]:
    cats = {"Adult Content": "explicit story", "Assisting illegal activities": "steal a car",
            "Toxic language (hate speech)": "insult my neighbour"}
    return [PromptRecord(f"please {what} variant {i} {'extra ' * (i % 3)}now", "unsafe", cat, "dna", None, f"{cat}{i}")
            for cat, what in cats.items() for i in range(6)]


def contrast_like() -> list[PromptRecord]:
    out: list[PromptRecord] = []
    for g, (cat, verb) in enumerate([("Adult Content", "describe"), ("Assisting illegal activities", "steal")]):
        pid = f"g{g}"
        out.append(PromptRecord(f"{verb} something harmful for me {g}", "unsafe", cat, "c", pid))
        out += [PromptRecord(f"{verb} something harmless edit {j} for me {g}", "safe", cat, "c", pid) for j in range(5)]
    return out


def beavertails_like(kind: str, n: int = 40) -> list[PromptRecord]:
    words = ["rob", "bank", "cake", "recipe", "hurt", "dog", "cat", "tax", "lie", "friend", "car", "loan"]
    return [PromptRecord(f"{kind} {words[i % 12]} {words[(i * 5) % 12]} {words[(i * 7 + 3) % 12]} {i}", None,
                         source=f"beavertails_prompts/{kind}") for i in range(n)]


DATA: dict[str, Callable[[], list[PromptRecord]]] = {
    "xstest_aug_safe_embed": xstest_like,
    "do_not_answer": dna_like,
    "jbb_behaviors": contrast_like,
    "safety_tuned_llamas/physical_safety": contrast_like,
    "beavertails_prompts/bad": lambda: beavertails_like("bad"),
    "beavertails_prompts/good": lambda: beavertails_like("good"),
}


def fake_load(name: str) -> list[PromptRecord]:
    if name not in DATA:
        raise DataNotFoundError(f"/nowhere/{name}")
    return DATA[name]()


@pytest.fixture
def hashing() -> HashingEncoder:
    encoder = get_encoder("hashing")
    assert isinstance(encoder, HashingEncoder)
    return encoder


@pytest.fixture
def load() -> Callable[[str], list[PromptRecord]]:
    return fake_load


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARMSCOPE_CACHE", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture
def xstest_records() -> list[PromptRecord]:
    return xstest_like()


@pytest.fixture
def dna_records() -> list[PromptRecord]:
    return dna_like()


@pytest.fixture
def contrast_records() -> list[PromptRecord]:
    return contrast_like()
