"""Loaders for labelled toxic / abusive / hateful text and the sensitive-conversation sets.

Rule for these two-class sets: abusive, hateful, offensive, sexist or toxic → ``"unsafe"``; the clean class
→ ``"safe"``; where annotators disagree evenly, or the label is about something other than this text, the
label is ``None``. Each loader's docstring states its exact rule (also listed in docs/datasets.md).
"""

from __future__ import annotations

import ast
import csv
import glob
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from harmscope.data._base import Loaded, Sink, file_in, folder, label_of, metadata
from harmscope.data._readers import csv_rows, json_list, jsonl_rows, need, read_text, text_lines
from harmscope.errors import DataFormatError
from harmscope.types import Label

# -------------------------------------------------------------------------------------------- ConvAbuse

_ABUSE_LEVELS = ("1", "0", "-1", "-2", "-3")


def _votes(cell: str) -> list[float]:
    # A cell holds "", "1" or, where an annotator saw the row twice, "1, 1".
    return [float(x) for x in cell.split(",") if x.strip()]


def _convabuse_split(path: Path | None, split: str) -> Loaded:
    """ConvAbuse user turns. Per annotator: abusive if any of is_abuse.-1/-2/-3 is ticked, not abusive if
    is_abuse.1 or .0 is ticked. Majority over annotators; a tie → label None. category = the abuse types
    (ableist, sexist, sex_harassment, …) ticked by at least half of the annotators, comma-joined."""
    f = file_in(path, "convabuse", f"ConvAbuseEMNLP{split}.csv")
    sink = Sink(f"convabuse/{split}", f)
    types = ("ableist", "homophobic", "intellectual", "racist", "sexist", "sex_harassment", "transphobic")
    for row in csv_rows(f, required=("example_id", "conv_id", "user", "bot")):
        abusive = clean = annotators = 0
        type_votes: Counter[str] = Counter()
        for a in range(1, 9):
            prefix = f"Annotator{a}_"
            if f"{prefix}is_abuse.1" not in row.cells:
                break
            try:
                level = {k: _votes(row[f"{prefix}is_abuse.{k}"]) for k in _ABUSE_LEVELS}
                ticked = [t for t in types if any(_votes(row.get(f"{prefix}{t}")))]
            except ValueError:
                raise DataFormatError(f, f"non-numeric vote in {prefix}* columns", row.line) from None
            if any(any(level[k]) for k in ("-1", "-2", "-3")):
                abusive += 1
            elif any(level["1"]) or any(level["0"]):
                clean += 1
            else:
                continue
            annotators += 1
            type_votes.update(ticked)
        label: Label | None = "unsafe" if abusive > clean else "safe" if clean > abusive else None
        category = ",".join(t for t in types if annotators and type_votes[t] * 2 >= annotators) or None
        meta = {"bot": row["bot"], "conv_id": row["conv_id"], "abusive_votes": abusive, "clean_votes": clean,
                **metadata(row.cells, "prev_agent", "prev_user", "agent")}
        sink.add(row["user"], label, line=row.line, column="user", category=category,
                 id=row["example_id"], metadata=meta)
    return sink.done()


def convabuse_train(path: Path | None) -> Loaded:
    return _convabuse_split(path, "train")


def convabuse_valid(path: Path | None) -> Loaded:
    return _convabuse_split(path, "valid")


def convabuse_test(path: Path | None) -> Loaded:
    return _convabuse_split(path, "test")


def convabuse(path: Path | None) -> Loaded:
    d = folder(path, "convabuse", "convabuse")
    return Loaded.merge([convabuse_train(d), convabuse_valid(d), convabuse_test(d)], d)


# ---------------------------------------------------------------------------------------- Davidson

_DAVIDSON: dict[str, tuple[Label, str]] = {"0": ("unsafe", "hate"), "1": ("unsafe", "offensive"),
                                           "2": ("safe", "neither")}


def davidson_hate_offensive(path: Path | None) -> Loaded:
    """Davidson tweets: class 0 hate / 1 offensive → unsafe (category hate/offensive); 2 neither → safe."""
    f = file_in(path, "davidson_hate_offensive", "labeled_data.csv")
    sink = Sink("davidson_hate_offensive", f)
    for row in csv_rows(f, required=("class", "tweet", "hate_speech", "offensive_language", "neither")):
        if row["class"] not in _DAVIDSON:
            raise DataFormatError(f, f"'class' is {row['class']!r}; expected 0, 1 or 2", row.line)
        label, category = _DAVIDSON[row["class"]]
        sink.add(row["tweet"], label, line=row.line, column="tweet", category=category, id=row.get(""),
                 metadata=metadata(row.cells, "count", "hate_speech", "offensive_language", "neither"))
    return sink.done()


# ---------------------------------------------------------------------------------------------- OLID


def olid_offenseval2019(path: Path | None) -> Loaded:
    """OLID training set: subtask_a OFF → unsafe, NOT → safe; category = subtask_b (TIN/UNT) for OFF.

    The official file truncates some tweets inside a multi-byte character; those bytes become U+FFFD (then
    stripped from the end of the text) and the rows are counted under ``repaired``.
    """
    f = file_in(path, "olid_offenseval2019", "olid-training-v1.0.tsv")
    decoded = read_text(f, repair=True)
    sink = Sink("olid_offenseval2019", f)
    if decoded.repaired_lines:
        sink.repaired["invalid UTF-8 bytes replaced"] = decoded.repaired_lines
    rows = csv_rows(f, required=("id", "tweet", "subtask_a", "subtask_b", "subtask_c"), delimiter="\t",
                    quoting=csv.QUOTE_NONE, text=decoded.text)
    for row in rows:
        label = label_of(f, row["subtask_a"], {"OFF": "unsafe", "NOT": "safe"}, line=row.line, column="subtask_a")
        b, c = row["subtask_b"], row["subtask_c"]
        sink.add(row["tweet"].rstrip("\ufffd"), label, line=row.line, column="tweet",
                 category=b if b != "NULL" else None, id=row["id"],
                 metadata={"subtask_b": b, "subtask_c": c} if b != "NULL" else {})
    return sink.done()


# ---------------------------------------------------------------------------------------------- EDOS


def edos_sexism(path: Path | None) -> Loaded:
    """EDOS: label_sexist sexist → unsafe, not sexist → safe; category = label_category for sexist rows."""
    f = file_in(path, "edos_sexism", "edos_labelled_aggregated.csv")
    sink = Sink("edos_sexism", f)
    for row in csv_rows(f, required=("rewire_id", "text", "label_sexist", "label_category", "split")):
        label = label_of(f, row["label_sexist"], {"sexist": "unsafe", "not sexist": "safe"}, line=row.line,
                         column="label_sexist")
        category = row["label_category"] if row["label_category"] != "none" else None
        meta = {"split": row["split"]}
        if row.get("label_vector") not in ("", "none"):
            meta["label_vector"] = row["label_vector"]
        sink.add(row["text"], label, line=row.line, column="text", category=category, id=row["rewire_id"],
                 metadata=meta)
    return sink.done()


# ------------------------------------------------------------------------------------------ ParaDetox


def paradetox_pairs(path: Path | None) -> Loaded:
    """ParaDetox: each row's ``toxic`` (unsafe) plus every non-empty ``neutral1..3`` paraphrase (safe), all
    with ``pair_id`` = the row number. Rows are csv-quoted (a few paraphrases span lines)."""
    f = file_in(path, "paradetox", "paradetox.tsv")
    sink = Sink("paradetox/pairs", f)
    for index, row in enumerate(csv_rows(f, required=("toxic", "neutral1"), delimiter="\t")):
        pair = str(index)
        sink.add(row["toxic"], "unsafe", line=row.line, column="toxic", pair_id=pair, id=f"{pair}-toxic")
        for column in ("neutral1", "neutral2", "neutral3"):
            if row.get(column).strip():
                sink.add(row[column], "safe", line=row.line, column=column, pair_id=pair, id=f"{pair}-{column}")
    return sink.done()


_CANNOT_REWRITE: dict[tuple[str, ...], Label] = {("toxic_content",): "unsafe", ("not_toxic",): "safe"}


def paradetox_cannot_rewrite(path: Path | None) -> Loaded:
    """Comments crowd workers could not detoxify; label from OUTPUT:reasons: only ``toxic_content`` →
    unsafe, only ``not_toxic`` → safe, anything else (unclear, mixed, other) → None."""
    f = file_in(path, "paradetox", "paradetox_cannot_rewrite.tsv")
    sink = Sink("paradetox/cannot_rewrite", f)
    for row in csv_rows(f, required=("INPUT:toxic_comment", "OUTPUT:reasons"), delimiter="\t"):
        try:
            reasons = json.loads(row["OUTPUT:reasons"])
        except json.JSONDecodeError:
            raise DataFormatError(f, "OUTPUT:reasons is not a JSON object", row.line) from None
        ticked = sorted(k for k, v in reasons.items() if v) if isinstance(reasons, dict) else []
        label = _CANNOT_REWRITE.get(tuple(ticked))
        text = row["INPUT:toxic_comment"]
        # The crowd platform export wraps each comment in literal double quotes.
        if len(text) >= 2 and text.startswith('"') and text.endswith('"'):
            text = text[1:-1]
        if not text.strip():
            sink.skip("empty comment")
            continue
        sink.add(text, label, line=row.line, column="INPUT:toxic_comment", id=row.get(""),
                 metadata={"reasons": ticked})
    return sink.done()


def paradetox(path: Path | None) -> Loaded:
    d = folder(path, "paradetox", "paradetox")
    return Loaded.merge([paradetox_pairs(d), paradetox_cannot_rewrite(d)], d)


# ------------------------------------------------------------------------------------------- HateCheck


def hatecheck(path: Path | None) -> Loaded:
    """HateCheck test cases: label_gold hateful → unsafe, non-hateful → safe; category = functionality.
    The annotator majority from test_suite_annotations.csv is joined in by case_id when that file exists."""
    d = folder(path, "hatecheck", "hatecheck")
    f = d / "test_suite_cases.csv"
    annotations: dict[str, str] = {}
    ann_file = d / "test_suite_annotations.csv"
    if ann_file.exists():
        annotations = {r["case_id"]: r["label_annot_maj"]
                       for r in csv_rows(ann_file, required=("case_id", "label_annot_maj"))}
    sink = Sink("hatecheck", f)
    for row in csv_rows(f, required=("functionality", "case_id", "test_case", "label_gold")):
        label = label_of(f, row["label_gold"], {"hateful": "unsafe", "non-hateful": "safe"}, line=row.line,
                         column="label_gold")
        meta = metadata(row.cells, "target_ident", "direction", "focus_words", "templ_id", "ref_case_id")
        if row["case_id"] in annotations:
            meta["annotator_majority"] = annotations[row["case_id"]]
        sink.add(row["test_case"], label, line=row.line, column="test_case", category=row["functionality"],
                 id=row["case_id"], metadata=meta)
    return sink.done()


# --------------------------------------------------------------------------------- ToxiChat (Reddit)


def _toxichat_reddit(path: Path | None, split: str) -> Loaded:
    """Baheti et al. Reddit threads: one record per Reddit turn (bot responses are not user text);
    offense_label Offensive → unsafe, Safe → safe."""
    f = file_in(path, "toxichat_reddit_offensive", f"{split}.jsonl")
    sink = Sink(f"toxichat_reddit_offensive/{split}", f)
    for row in jsonl_rows(f):
        thread = need(f, row.value, "reddit_thread", row.line)
        if not isinstance(thread, list):
            raise DataFormatError(f, "'reddit_thread' must be a list of turns", row.line)
        for turn in thread:
            label = label_of(f, need(f, turn, "offense_label", row.line), {"Offensive": "unsafe", "Safe": "safe"},
                             line=row.line, column="offense_label")
            sink.add(turn.get("text", "").strip(), label, line=row.line, column="text",
                     id=f"{split}-{row.line}-{turn.get('turn_id')}",
                     metadata={"thread": row.line, "turn_id": turn.get("turn_id"),
                               **metadata(turn, "offense_targets")})
    return sink.done()


def toxichat_reddit_train(path: Path | None) -> Loaded:
    return _toxichat_reddit(path, "train")


def toxichat_reddit_dev(path: Path | None) -> Loaded:
    return _toxichat_reddit(path, "dev")


def toxichat_reddit_test(path: Path | None) -> Loaded:
    return _toxichat_reddit(path, "test")


def toxichat_reddit_offensive(path: Path | None) -> Loaded:
    d = folder(path, "toxichat_reddit_offensive", "toxichat_reddit_offensive")
    return Loaded.merge([toxichat_reddit_train(d), toxichat_reddit_dev(d), toxichat_reddit_test(d)], d)


# ---------------------------------------------------------------------------------------------- SBIC


def sbic_dev(path: Path | None) -> Loaded:
    """Social Bias Frames dev: one record per post. offensiveYN averaged over the annotations that gave
    one: ≥ 0.5 → unsafe, < 0.5 → safe (the SBIC paper's threshold); no annotation → None.
    category = the most common targetCategory; metadata has sexYN/intentYN means (sexual-content flag)."""
    f = file_in(path, "sbic_dev", "SBFv2.dev.csv")
    sink = Sink("sbic_dev", f)
    posts: dict[str, dict[str, Any]] = {}
    for row in csv_rows(f, required=("post", "offensiveYN", "sexYN", "intentYN", "targetCategory")):
        post = posts.setdefault(row["post"], {"line": row.line, "off": [], "sex": [], "intent": [],
                                              "target": Counter()})
        for key, column in (("off", "offensiveYN"), ("sex", "sexYN"), ("intent", "intentYN")):
            if row[column].strip():
                try:
                    post[key].append(float(row[column]))
                except ValueError:
                    raise DataFormatError(f, f"{column!r} is {row[column]!r}; expected 0, 0.5 or 1",
                                          row.line) from None
        if row["targetCategory"]:
            post["target"][row["targetCategory"]] += 1

    def mean(xs: list[float]) -> float | None:
        return sum(xs) / len(xs) if xs else None

    for text, p in posts.items():
        off = mean(p["off"])
        label: Label | None = None if off is None else "unsafe" if off >= 0.5 else "safe"
        category = p["target"].most_common(1)[0][0] if p["target"] else None
        meta = {"offensive_mean": off, "sex_mean": mean(p["sex"]), "intent_mean": mean(p["intent"]),
                "n_annotations": len(p["off"])}
        sink.add(text, label, line=p["line"], column="post", category=category, metadata=meta)
    return sink.done()


# --------------------------------------------------------------------------------------------- ETHOS

_ETHOS_LABELS = ("violence", "directed_vs_generalized", "gender", "race", "national_origin", "disability",
                 "religion", "sexual_orientation")


def ethos_binary(path: Path | None) -> Loaded:
    """ETHOS binary: isHate > 0.5 → unsafe, else safe (0.5 exactly is an even split, not hate)."""
    f = file_in(path, "ethos", "Ethos_Dataset_Binary.csv")
    sink = Sink("ethos/binary", f)
    for row in csv_rows(f, required=("comment", "isHate"), delimiter=";"):
        try:
            score = float(row["isHate"])
        except ValueError:
            raise DataFormatError(f, f"'isHate' is {row['isHate']!r}; expected a number in [0, 1]", row.line) from None
        sink.add(row["comment"], "unsafe" if score > 0.5 else "safe", line=row.line, column="comment",
                 metadata={"is_hate": score})
    return sink.done()


def ethos_multi_label(path: Path | None) -> Loaded:
    """ETHOS multi-label (433 hateful comments, all unsafe); category = the labels scored ≥ 0.5, joined
    (e.g. ``"violence,gender"``); directed_vs_generalized is kept in metadata, not in category."""
    f = file_in(path, "ethos", "Ethos_Dataset_Multi_Label.csv")
    sink = Sink("ethos/multi_label", f)
    for row in csv_rows(f, required=("comment", *_ETHOS_LABELS), delimiter=";"):
        try:
            scores = {k: float(row[k]) for k in _ETHOS_LABELS}
        except ValueError:
            raise DataFormatError(f, "label columns must be numbers in [0, 1]", row.line) from None
        category = ",".join(k for k, v in scores.items() if v >= 0.5 and k != "directed_vs_generalized")
        sink.add(row["comment"], "unsafe", line=row.line, column="comment", category=category or None,
                 metadata=scores)
    return sink.done()


# ------------------------------------------------------------------------------------------- ToxiGen

_TOXIGEN_DEMO = re.compile(r"demonstrations__(?P<topic>[a-z_]+?)__(?P<kind>hate|neutral)_(?P<group>.+?)"
                           r"(?:_sentences)?\.txt$")


def toxigen_demonstrations(path: Path | None) -> Loaded:
    """ToxiGen demonstration files, one sentence per line: hate_* → unsafe, neutral_* → safe;
    category = target group from the file name (e.g. ``asian``), metadata topic and file.
    (religion has two near-identical muslim files; both are kept, the pool deduplicates.)"""
    d = folder(path, "toxigen_seed_sentences", "toxigen_seed_sentences")
    files = sorted(glob.glob(str(d / "demonstrations__*.txt")))
    if not files:
        raise DataFormatError(d, "no demonstrations__*.txt files in this folder")
    parts = []
    for name in files:
        f = Path(name)
        m = _TOXIGEN_DEMO.search(f.name)
        if m is None:
            raise DataFormatError(f, "file name must look like demonstrations__TOPIC__hate_GROUP[_sentences].txt")
        sink = Sink("toxigen_seed_sentences/demonstrations", f)
        label: Label = "unsafe" if m["kind"] == "hate" else "safe"
        for number, line in text_lines(f):
            sink.add(line.strip(), label, line=number, column="line", category=m["group"],
                     metadata={"topic": m["topic"], "file": f.name})
        parts.append(sink.done())
    return Loaded.merge(parts, d)


_TOXIGEN_PROMPT_FILES: tuple[tuple[str, Label, str], ...] = (
    ("hate_women_1k", "unsafe", "women"), ("neutral_women_1k", "safe", "women"), ("hate_trans_1k", "unsafe", "trans"))


def toxigen_prompts(path: Path | None) -> Loaded:
    """The three ToxiGen prompt files (women, trans). Each line is a generation prompt made of ``- s``
    seed sentences joined by a literal ``\\n``; one record per distinct seed per file (a line is not a
    prompt a user would send). hate_* → unsafe, neutral_* → safe; category = group."""
    d = folder(path, "toxigen_seed_sentences", "toxigen_seed_sentences")
    parts = []
    for stem, label, group in _TOXIGEN_PROMPT_FILES:
        f = d / f"{stem}.txt"
        sink = Sink("toxigen_seed_sentences/prompts", f)
        seen: set[str] = set()
        for number, line in text_lines(f):
            for piece in line.split("\\n"):
                seed = piece.strip().removeprefix("-").strip()
                if seed and seed not in seen:
                    seen.add(seed)
                    sink.add(seed, label, line=number, column="line", category=group,
                             metadata={"file": f.name})
        parts.append(sink.done())
    return Loaded.merge(parts, d)


def toxigen_seed_sentences(path: Path | None) -> Loaded:
    d = folder(path, "toxigen_seed_sentences", "toxigen_seed_sentences")
    return Loaded.merge([toxigen_demonstrations(d), toxigen_prompts(d)], d)


# ------------------------------------------------------------------------------------------ DiaSafety


def _diasafety(path: Path | None, split: str) -> Loaded:
    """DiaSafety: text = the user ``context``; label None (the source labels the RESPONSE given the context);
    category = the source category, metadata response and response_label."""
    f = file_in(path, "diasafety", f"{split}.json")
    sink = Sink(f"diasafety/{split}", f)
    for index, item in enumerate(json_list(f)):
        sink.add(item.get("context"), None, line=None, column=f"context (item {index})",
                 category=item.get("category"),
                 metadata={"response": item.get("response"), "response_label": item.get("label")})
    return sink.done()


def diasafety_train(path: Path | None) -> Loaded:
    return _diasafety(path, "train")


def diasafety_val(path: Path | None) -> Loaded:
    return _diasafety(path, "val")


def diasafety_test(path: Path | None) -> Loaded:
    return _diasafety(path, "test")


def diasafety(path: Path | None) -> Loaded:
    d = folder(path, "diasafety", "diasafety")
    return Loaded.merge([diasafety_train(d), diasafety_val(d), diasafety_test(d)], d)


# -------------------------------------------------------------------------------------- C-SSRS Reddit

_CSSRS: dict[str, Label] = {"Supportive": "safe", "Indicator": "safe", "Ideation": "unsafe",
                            "Behavior": "unsafe", "Attempt": "unsafe"}
_POST_SPLIT = re.compile(r"""['"],\s*['"]""")


def _split_posts(cell: str) -> list[str]:
    """The ``Post`` cell is a Python list literal; some are not valid literals, so fall back to splitting
    on the ``', '`` separators."""
    try:
        value = ast.literal_eval(cell)
        if isinstance(value, list):
            return [str(p) for p in value]
    except (ValueError, SyntaxError):
        pass
    inner = cell.strip().removeprefix("[").removesuffix("]").strip().strip("'\"")
    return _POST_SPLIT.split(inner)


def cssrs_reddit_500(path: Path | None) -> Loaded:
    """Reddit C-SSRS: one record per post of each user, labelled by the USER's clinician-adjudicated level:
    Ideation/Behavior/Attempt → unsafe (self-harm risk), Supportive/Indicator → safe. category = level.
    The label is user-level, so a single post can be milder than its label says. Empty posts are skipped."""
    f = file_in(path, "cssrs_reddit_500", "500_Reddit_users_posts_labels.csv")
    sink = Sink("cssrs_reddit_500", f)
    for row in csv_rows(f, required=("User", "Post", "Label")):
        label = label_of(f, row["Label"], _CSSRS, line=row.line, column="Label")
        for index, post in enumerate(_split_posts(row["Post"])):
            if not post.strip():
                sink.skip("empty post")
                continue
            sink.add(post.strip(), label, line=row.line, column="Post", category=row["Label"],
                     id=f"{row['User']}#{index}", metadata={"user": row["User"], "post_index": index})
    return sink.done()
