"""The harm taxonomy: every category string the loaders emit for a mapped source has a mapping, tables are
valid, and multi-label / most-specific-source rules hold."""

from __future__ import annotations

from pathlib import Path

import pytest

from harmscope._paths import data_dir
from harmscope.data import load_dataset
from harmscope.data.taxonomy import (
    CATEGORY_IDS,
    HARM_CATEGORIES,
    PRECEDENCE,
    UnknownCategoryError,
    get_category,
    load_tables,
    map_category,
    mapping_tables,
    table_for,
)
from harmscope.errors import DataFormatError
from harmscope.registry import DATASETS

FIXTURES = Path(__file__).parent / "fixtures"
HAVE_DATA = (data_dir() / "MANIFEST.md").is_file()

REQUIRED_TAXONOMIES = ("do_not_answer", "sorry_bench", "ailuminate", "harmbench", "strongreject", "jbb",
                       "catqa", "aart", "openai_moderation", "wildguardtest")


def test_categories_are_well_formed() -> None:
    ids = [c.id for c in HARM_CATEGORIES]
    assert len(ids) == len(set(ids)) == len(CATEGORY_IDS)
    assert sorted(PRECEDENCE) == sorted(ids)
    assert all(c.name and len(c.description) > 20 for c in HARM_CATEGORIES)
    mlcommons = {c.mlcommons for c in HARM_CATEGORIES} - {None}
    assert {"vcr", "ncr", "src", "cse", "ssh", "iwp", "hte", "prv", "ipv", "dfm", "spc", "sxc"} <= mlcommons
    assert get_category("hate").mlcommons == "hte"
    with pytest.raises(KeyError, match="not a harmscope category"):
        get_category("nope")


def test_required_tables_exist_and_sources_are_registered() -> None:
    tables = mapping_tables()
    assert set(REQUIRED_TAXONOMIES) <= set(tables)
    for table in tables.values():
        assert table.mapping, table.taxonomy
        assert set(table.mapping.values()) - {None} <= CATEGORY_IDS
        for source in table.applies_to:
            assert source in DATASETS or f"{source}:" in DATASETS.schemes, f"{table.file.name}: {source!r} is not a registered dataset"


def test_ailuminate_codes_map_to_their_mlcommons_category() -> None:
    for code, target in mapping_tables()["ailuminate"].mapping.items():
        expected = "elections" if code == "spc_ele" else None
        category = get_category(str(target))
        assert category.id == expected or (category.mlcommons or "") == code.split("_")[0], code


def test_map_category_rules() -> None:
    assert map_category("ailuminate_demo", "vcr") == "violent_crimes"
    assert map_category("harmbench/standard", "cybercrime_intrusion") == "cyber"
    assert map_category("refusal_direction_splits/harmful_test", "Malware/Hacking") == "cyber"  # via include
    assert map_category("trustllm_safety/misuse", "Adult Content") == "sexual_content"  # DNA include
    assert map_category("harmbench/standard", "harmful") is None  # listed, no hazard fits
    assert map_category("advbench", None) is None
    assert map_category("arena_hard/v0.1", "Advanced Regex Techniques") is None  # no table: topics
    assert map_category("catqa", "Malware Viruses") == "cyber"  # taxonomy name as source
    # The most specific applies_to wins: CatQA is mapped, HarmfulQA's academic topics are not.
    assert table_for("red_instruct_catqa_harmfulqa/catqa") is not None
    assert table_for("red_instruct_catqa_harmfulqa/harmfulqa") is None
    with pytest.raises(UnknownCategoryError, match="not in the 'sorry_bench' mapping table.*sorry_bench.yaml"):
        map_category("sorry_bench", "A Category Nobody Emits")


def test_multi_label_takes_the_most_severe() -> None:
    assert map_category("openai-moderation", "H,V") == "violent_crimes"
    assert map_category("openai-moderation", "S,S3") == "child_sexual_exploitation"
    assert map_category("convabuse/train", "intellectual,sexist") == "hate"
    assert map_category("convabuse/train", "intellectual") is None
    with pytest.raises(UnknownCategoryError):
        map_category("openai-moderation", "H,ZZ")
    with pytest.raises(UnknownCategoryError):  # comma splitting only for multi-label tables
        map_category("jbb_behaviors", "Privacy,Disinformation")


def test_path_based_fixtures_map() -> None:
    for name, fixture in (("openai-moderation", "openai_moderation_sample.jsonl"),
                          ("wildguardtest", "wildguardtest_sample.jsonl")):
        records = load_dataset(f"{name}:{FIXTURES / fixture}")
        mapped = {r.category: map_category(r.source, r.category) for r in records if r.category}
        assert mapped, name
    assert map_category("wildguardtest", "cyberattack") == "cyber"
    assert map_category("wildguardtest", "benign") is None


def test_bad_tables_are_rejected(tmp_path: Path) -> None:
    good = "taxonomy: {n}\ntitle: t\nurl: u\napplies_to: [{src}]\nmapping:\n  a: hate\n"
    (tmp_path / "one.yaml").write_text(good.format(n="one", src="xstest"), encoding="utf-8")
    assert load_tables(tmp_path)["one"].mapping == {"a": "hate"}
    (tmp_path / "two.yaml").write_text(good.format(n="two", src="xstest"), encoding="utf-8")
    with pytest.raises(DataFormatError, match="already mapped by 'one'"):
        load_tables(tmp_path)
    (tmp_path / "two.yaml").write_text("taxonomy: two\ntitle: t\nurl: u\napplies_to: [oktest]\n"
                                       "mapping:\n  a: violence\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="'violence', which is not a harmscope category"):
        load_tables(tmp_path)
    (tmp_path / "two.yaml").write_text("taxonomy: other\ntitle: t\nurl: u\napplies_to: []\nmapping: {}\n",
                                       encoding="utf-8")
    with pytest.raises(DataFormatError, match="must equal the file name"):
        load_tables(tmp_path)


def _mapped_shipped_names() -> list[str]:
    return sorted({s for t in mapping_tables().values() for s in t.applies_to if s in DATASETS.entries})


@pytest.mark.skipif(not HAVE_DATA, reason="shared data folder not present")
@pytest.mark.parametrize("name", _mapped_shipped_names())
def test_every_emitted_category_is_mapped(name: str) -> None:
    records = load_dataset(name)
    categories = {(r.source, r.category) for r in records if r.category is not None}
    assert categories, f"{name} emits no category; its table is useless"
    unmapped = []
    for source, category in categories:
        try:
            map_category(source, category)
        except UnknownCategoryError:
            unmapped.append(category)
    assert not unmapped, f"{name}: {sorted(unmapped)}"
    # Every unsafe record of a hazard taxonomy lands somewhere on average: a table of nulls is a bug.
    mapped = [map_category(r.source, r.category) for r in records if r.label == "unsafe" and r.category]
    if mapped and name not in ("davidson_hate_offensive", "convabuse", "coconot"):
        assert sum(m is not None for m in mapped) / len(mapped) > 0.8, name
