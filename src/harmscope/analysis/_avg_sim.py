"""The normalisation constant of Safe-Embed: an encoder's mean cosine between unrelated prompts.

The paper (``get_average_similarities.py``) samples 500 safe + 500 unsafe BeaverTails prompts, splits the
1,000 at random into two halves of 500 and averages the cosine over all 500 × 500 cross pairs. We do the
same on the BeaverTails prompts shipped here (``beavertails_prompts/bad`` + ``/good``, deduplicated):
by default 1,200 + 1,200 prompts, halves of 1,200, 1.44 million pairs. The standard error shrinks with
the number of prompts, not pairs; measured at 1,600 prompts it was 0.0017-0.0019 for minilm and 0.0022
for mpnet, so 2,400 keeps it below 0.002 (see docs/safe-embed.md). That costs 2,400 encodings (about
90 s for mpnet at 27 prompts/s on a 2-core CPU), once: embeddings and the result are cached.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from harmscope._paths import cache_dir
from harmscope.encoders import Encoder
from harmscope.errors import HarmscopeError
from harmscope.metrics import average_cross_cosine

__all__ = ["AVG_SIM_DATASETS", "DEFAULT_AVG_SIM_PROMPTS", "AvgSim", "compute_avg_sim", "resolve_avg_sim",
           "sample_pair_halves"]

AVG_SIM_DATASETS: tuple[str, str] = ("beavertails_prompts/bad", "beavertails_prompts/good")
DEFAULT_AVG_SIM_PROMPTS = 2400
_CACHE_VERSION = 1

AvgSimSource = Literal["computed", "paper", "given"]


@dataclass(frozen=True)
class AvgSim:
    """The constant used to normalise cosines, and where it came from."""

    value: float
    source: AvgSimSource
    encoder: str
    stderr: float | None = None
    """Standard error of a computed value (None for a published or given one)."""
    seed: int | None = None
    n_prompts: int | None = None
    n_pairs: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"avg_sim": self.value, "stderr": self.stderr, "source": self.source, "encoder": self.encoder,
                "seed": self.seed, "n_prompts": self.n_prompts, "n_pairs": self.n_pairs}


def sample_pair_halves(pools: Sequence[Sequence[str]], *, n_prompts: int, seed: int) -> tuple[list[str], list[str]]:
    """Draw ``n_prompts`` distinct texts, an equal share from each pool, and split them at random into two
    halves (the two sides of the cross pairs). Deterministic for a given ``seed``.

    Texts are deduplicated across pools first (a text in two pools counts for the first), so no pair
    compares a prompt with itself.
    """
    if n_prompts < 4 or n_prompts % (2 * len(pools)):
        raise HarmscopeError(f"n_prompts must be a multiple of {2 * len(pools)} and at least 4; got {n_prompts}")
    rng = np.random.default_rng(seed)
    seen: set[str] = set()
    sample: list[str] = []
    per_pool = n_prompts // len(pools)
    for i, pool in enumerate(pools):
        unique = [t for t in dict.fromkeys(pool) if t not in seen and t.strip()]
        seen.update(unique)
        if len(unique) < per_pool:
            raise HarmscopeError(f"pool {i} has {len(unique)} distinct prompts, fewer than the {per_pool} asked "
                                 "for; lower n_prompts")
        sample.extend(unique[j] for j in rng.choice(len(unique), size=per_pool, replace=False))
    order = rng.permutation(len(sample))
    half = len(sample) // 2
    return [sample[j] for j in order[:half]], [sample[j] for j in order[half:]]


def compute_avg_sim(encoder: Encoder, *, seed: int = 0, n_prompts: int = DEFAULT_AVG_SIM_PROMPTS,
                    pools: Sequence[Sequence[str]] | None = None, use_cache: bool = True) -> AvgSim:
    """Mean cosine over all cross pairs of two random halves of a balanced prompt sample.

    ``pools`` default to the BeaverTails bad and good prompts (via ``harmscope.data.load_dataset``). The
    result is cached in ``cache_dir("analysis")`` under the encoder id and a hash of the sampled texts.
    """
    if pools is None:
        from harmscope.data import load_dataset

        pools = [[r.text for r in load_dataset(name)] for name in AVG_SIM_DATASETS]
    a, b = sample_pair_halves(pools, n_prompts=n_prompts, seed=seed)
    digest = hashlib.sha256("\x00".join([str(_CACHE_VERSION), encoder.id, *a, "\x01", *b]).encode()).hexdigest()
    path = cache_dir("analysis") / f"avg_sim-{re.sub(r'[^A-Za-z0-9_.-]+', '_', encoder.id)[:60]}-{digest[:16]}.json"
    if use_cache and path.is_file():
        try:
            cached = json.loads(path.read_text("utf-8"))
            return AvgSim(value=float(cached["avg_sim"]), source="computed", encoder=encoder.id,
                          stderr=float(cached["stderr"]), seed=seed, n_prompts=n_prompts,
                          n_pairs=int(cached["n_pairs"]))
        except (ValueError, KeyError, TypeError):
            pass  # a corrupt cache entry is recomputed and overwritten
    emb = encoder.encode(a + b)
    stats = average_cross_cosine(emb[:len(a)], emb[len(a):])
    result = AvgSim(value=stats.mean, source="computed", encoder=encoder.id, stderr=stats.stderr, seed=seed,
                    n_prompts=n_prompts, n_pairs=stats.n_pairs)
    if use_cache:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(result.to_json()), "utf-8")
        tmp.replace(path)
    return result


def resolve_avg_sim(spec: str | float | None, *, encoder_name: str, encoder: Encoder | None = None,
                    seed: int = 0) -> AvgSim:
    """Turn the ``--avg-sim`` option into a constant.

    ``None`` or ``"compute"`` computes it (building ``encoder_name`` if no ``encoder`` is given),
    ``"paper"`` looks up the published value for ``encoder_name`` (an error if there is none),
    ``"prefer-paper"`` uses the published value where one exists and computes otherwise, and a number is
    used as given.
    """
    if isinstance(spec, (int, float)) and not isinstance(spec, bool):
        return _given(float(spec), encoder_name)
    if spec is None or spec == "compute":
        if encoder is None:
            from harmscope.encoders import get_encoder

            encoder = get_encoder(encoder_name)
        return compute_avg_sim(encoder, seed=seed)
    if spec in ("paper", "prefer-paper"):
        from harmscope.analysis._paper import paper_avg_sim, paper_name

        if spec == "paper" or paper_name(encoder_name) is not None:
            return AvgSim(value=paper_avg_sim(encoder_name), source="paper", encoder=encoder_name)
        return resolve_avg_sim("compute", encoder_name=encoder_name, encoder=encoder, seed=seed)
    try:
        value = float(spec)
    except ValueError:
        raise HarmscopeError(
            f"--avg-sim must be a number, 'compute', 'paper' or 'prefer-paper'; got {spec!r}") from None
    return _given(value, encoder_name)


def _given(value: float, encoder_name: str) -> AvgSim:
    if not np.isfinite(value) or not -1.0 <= value < 1.0:
        raise HarmscopeError(f"--avg-sim must be a cosine in [-1, 1); got {value}")
    return AvgSim(value=value, source="given", encoder=encoder_name)
