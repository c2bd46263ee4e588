"""`harmscope moderate TEXT...`: verdict, score, threshold, harm category and the explanation per text.

The user's text is never echoed unless ``--show-text``; the nearest known prompts shown as evidence come
from the detector's training bank (public training data). Only stdlib at top level; rich renders the
human-readable output.

JSON (``--json``): one object for one input, a list of objects (in input order) for several. Each object:
``index``, ``verdict`` ("safe"|"unsafe"), ``score`` (P(unsafe)), ``threshold``, ``category`` (str|null,
assuming unsafe), ``category_scores`` ({category: score}), ``detector`` (type), ``neighbours`` (list of
``text``, ``similarity``, ``label``, ``category``), ``details`` (detector-specific numbers) and ``text``
only with ``--show-text``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

MAX_NEIGHBOUR_CHARS = 160


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "moderate", help="say whether prompts are unsafe, with score, category and the nearest known prompts",
    )
    p.add_argument("texts", nargs="*", metavar="TEXT",
                   help="prompts to check (or use --stdin; a lone '-' means --stdin)")
    p.add_argument("--detector", default="default", metavar="PATH|default",
                   help="'default' (built by `harmscope fit`; the default) or a folder written by detector.save()")
    p.add_argument("--stdin", action="store_true",
                   help="read the prompt from standard input (UTF-8): all of it as one prompt, or one per "
                   "line with --lines")
    p.add_argument("--lines", action="store_true", help="with --stdin: one prompt per non-empty line")
    p.add_argument("--json", action="store_true",
                   help="print JSON: one object for one text, a list for several")
    p.add_argument("--show-text", action="store_true", help="include the checked text in the output")
    p.add_argument("--neighbours", type=int, default=3, metavar="N",
                   help="nearest known prompts to show per text (default 3; 0 = none)")
    p.set_defaults(func=run_moderate)


def read_inputs(args: argparse.Namespace) -> list[str]:
    """The texts to check, from arguments or stdin; HarmscopeError for none, empty or non-UTF-8 input."""
    from harmscope.errors import HarmscopeError

    dash = args.texts == ["-"] and not args.stdin  # the usual spelling of "read standard input"
    from_stdin = bool(args.stdin or dash)
    given: list[str] = [] if dash else list(args.texts)
    if from_stdin and given:
        raise HarmscopeError("give texts either as arguments or with --stdin, not both")
    if args.lines and not from_stdin:
        raise HarmscopeError("--lines only applies with --stdin")
    if from_stdin:
        raw = sys.stdin.buffer.read()
        try:
            data = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise HarmscopeError(f"standard input is not valid UTF-8 (byte {error.start}); "
                                 "re-encode it as UTF-8") from None
        texts = [line for line in data.splitlines() if line.strip()] if args.lines else [data.strip("\r\n")]
        if not texts or not any(t.strip() for t in texts):
            raise HarmscopeError("standard input is empty; pipe in the prompt text")
        return texts
    if not given:
        raise HarmscopeError("nothing to moderate: give TEXT arguments or --stdin")
    for i, t in enumerate(given):
        if not t.strip():
            raise HarmscopeError(f"text {i + 1} is empty; give non-empty prompt text")
    return given


def load(spec: str) -> Any:
    from harmscope.errors import HarmscopeError

    if spec == "default":
        from harmscope.detectors import load_default

        return load_default()
    path = Path(spec).expanduser()
    if not path.is_dir():
        raise HarmscopeError(f"--detector {spec!r}: no such folder; give 'default' (run `harmscope fit` first) "
                             "or a folder written by detector.save()")
    from harmscope.detectors import load_detector

    return load_detector(path)


def to_record(index: int, text: str, explanation: Any, *, show_text: bool, neighbours: int) -> dict[str, Any]:
    """The JSON object for one explained text (see the module docstring)."""
    e = explanation
    out: dict[str, Any] = {
        "index": index, "verdict": e.verdict, "score": e.score, "threshold": e.threshold,
        "category": e.category.category, "category_scores": {s.category: s.score for s in e.category.scores},
        "detector": e.detector,
        "neighbours": [{"text": n.text, "similarity": n.similarity, "label": n.label, "category": n.category}
                       for n in e.neighbours[:neighbours]],
        "details": dict(e.details),
    }
    if show_text:
        out["text"] = text
    return out


def _short(text: str) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= MAX_NEIGHBOUR_CHARS else one_line[:MAX_NEIGHBOUR_CHARS - 1] + "…"


def render(records: list[dict[str, Any]]) -> None:
    """Human-readable output with rich (colour only on a terminal)."""
    from rich.console import Console
    from rich.markup import escape

    console = Console(highlight=False, soft_wrap=True)
    for r in records:
        colour = "red" if r["verdict"] == "unsafe" else "green"
        head = (f"[bold {colour}]{r['verdict'].upper()}[/]  score {r['score']:.3f}  "
                f"(threshold {r['threshold']:.3f}, {escape(r['detector'])})")
        if len(records) > 1:
            head = f"[{r['index'] + 1}] " + head
        console.print(head)
        if "text" in r:
            console.print(f"  text: {escape(_short(r['text']))}")
        # A safe verdict shows no category: the head's best guess for a benign prompt reads like an
        # accusation ("category: violent_crimes" under SAFE). --json still carries it for analysis.
        if r["category"] is not None and r["verdict"] == "unsafe":
            top = r["category_scores"].get(r["category"], 0.0)
            console.print(f"  category: {escape(r['category'])} ({top:.2f})")
        if r["neighbours"]:
            console.print("  nearest known prompts:")
            for n in r["neighbours"]:
                cat = f"{n['category']}  " if n["category"] else ""
                console.print(f"    {n['similarity']:.3f}  {n['label']:<6}  {escape(cat)}"
                              f"{escape(_short(n['text']))}")


def run_moderate(args: argparse.Namespace) -> int:
    from harmscope.errors import HarmscopeError

    if args.neighbours < 0:
        raise HarmscopeError(f"--neighbours must be >= 0, got {args.neighbours}")
    texts = read_inputs(args)
    detector = load(args.detector)
    explanations = detector.explain(texts)
    records = [to_record(i, t, e, show_text=args.show_text, neighbours=args.neighbours)
               for i, (t, e) in enumerate(zip(texts, explanations))]
    if args.json:
        print(json.dumps(records[0] if len(records) == 1 else records, indent=2, ensure_ascii=False))
    else:
        render(records)
    return 0
