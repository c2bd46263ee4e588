"""The Safe-Embed tasks with the real minilm encoder on the real datasets (skipped if either is missing)."""

from __future__ import annotations

import pytest

from harmscope.analysis import AvgSim, run_challenging, run_taxonomy
from harmscope.encoders import Encoder
from harmscope.errors import HarmscopeError

pytestmark = pytest.mark.model


@pytest.fixture(scope="session")
def minilm() -> Encoder:
    from harmscope.encoders import get_encoder

    try:
        encoder = get_encoder("minilm")
        encoder.encode(["probe"])
    except (HarmscopeError, ImportError, OSError) as error:  # not installed / no weights: nothing to test
        pytest.skip(f"minilm unavailable: {error}")
    return encoder


def _load(name: str) -> list:  # type: ignore[type-arg]
    from harmscope.data import load_dataset

    try:
        return load_dataset(name)
    except HarmscopeError as error:
        pytest.skip(f"{name} unavailable: {error}")


def test_challenging_on_xstest_aug(minilm: Encoder) -> None:
    result = run_challenging(minilm, avg_sim=AvgSim(0.092, "given", "minilm"),
                             records=_load("xstest_aug_safe_embed"))
    assert len(result.per_type) == 10 and set(result.counts.values()) == {25}
    assert all(0.0 < v < 1.0 for v in result.per_type.values())
    # Every encoder in the paper puts "history" pairs (same wording, different era) far closer than
    # "figurative_language" pairs (different wording); a broken pairing would scramble this.
    assert result.per_type["history"] > result.per_type["figurative_language"] + 0.1


def test_taxonomy_on_do_not_answer(minilm: Encoder) -> None:
    result = run_taxonomy(minilm, k=10, records=_load("do_not_answer"))
    purity = result.purity
    assert len(purity.per_category) == 12 and sum(purity.counts.values()) == 939
    # chance level is about 1/12 for macro; a real sentence encoder clusters harm types far better
    assert purity.macro > 0.3 and purity.micro > 0.3
