"""Explicit registries: name -> ``"module:attr"``, imported only when used.

Each table is a plain constant. A name may be exact (``"minilm"``) or a prefix scheme ending in ``":"``
(``"st:"``, ``"openai:"``, ``"hs:"``); the factory of a scheme receives the text after the prefix.
Nothing here imports a heavy library.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harmscope.errors import UnknownNameError


@dataclass(frozen=True)
class Registry:
    """A read-only table of named factories."""

    kind: str
    """What the table holds ("encoder", "dataset", "detector"), used in error messages."""
    entries: Mapping[str, str]
    """Exact names -> ``"module:attr"``."""
    schemes: Mapping[str, str]
    """Prefixes such as ``"st:"`` -> ``"module:attr"`` of a factory taking the rest of the name."""

    def names(self) -> list[str]:
        """Exact names, then schemes as ``prefix<...>``."""
        return sorted(self.entries) + [f"{p}<...>" for p in sorted(self.schemes)]

    def resolve(self, name: str) -> tuple[Any, str | None]:
        """The factory for ``name`` and, for a scheme, the argument after the prefix."""
        if name in self.entries:
            return _import(self.entries[name]), None
        for prefix, target in self.schemes.items():
            if name.startswith(prefix):
                return _import(target), name[len(prefix):]
        raise UnknownNameError(self.kind, name, self.names())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (
            name in self.entries or any(name.startswith(p) for p in self.schemes)
        )


def _import(target: str) -> Any:
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)


ENCODERS = Registry(
    kind="encoder",
    entries={
        "minilm": "harmscope.encoders._sentence:minilm",
        "mpnet": "harmscope.encoders._sentence:mpnet",
        "minilm-safety": "harmscope.encoders.finetune:minilm_safety",
        "minilm-safety-int8": "harmscope.encoders.finetune:minilm_safety_int8",
        "mpnet-safety": "harmscope.encoders.finetune:mpnet_safety",
        "mpnet-safety-int8": "harmscope.encoders.finetune:mpnet_safety_int8",
        "minilm-int8": "harmscope.encoders._onnx:minilm_int8",
        "paraphrase-l3": "harmscope.encoders._onnx:paraphrase_l3",
        "e5-small": "harmscope.encoders._e5:e5_small",
        "hashing": "harmscope.encoders._hashing:hashing",
    },
    schemes={
        "st:": "harmscope.encoders._sentence:from_path",
        "openai:": "harmscope.encoders._remote:openai_embeddings",
        "hs:": "harmscope.encoders._hidden_states:hidden_states",
        "onnx:": "harmscope.encoders._onnx_export:from_folder",
    },
)

# Owned by harmscope.data: one entry per dataset (and named subset) in ../shared/data, plus the
# path-based loaders of benchmarks that are not shipped (their factories take the PATH).
# Every factory has the signature ``factory(path: Path | None) -> list[PromptRecord] | Loaded``.
_P = "harmscope.data._loaders_prompts:"
_B = "harmscope.data._loaders_benign:"
_T = "harmscope.data._loaders_toxic:"
_X = "harmscope.data._loaders_external:"
DATASETS = Registry(
    kind="dataset",
    entries={
        "xstest": _P + "xstest",
        "xstest_aug_safe_embed": _P + "xstest_aug_safe_embed",
        "do_not_answer": _P + "do_not_answer",
        "do_not_answer_fp_fn": _P + "do_not_answer_fp_fn",
        "do_not_answer_fp_fn/fp": _P + "do_not_answer_fp",
        "do_not_answer_fp_fn/fn": _P + "do_not_answer_fn",
        "toxicchat_human": _X + "toxicchat_human",
        "harmbench": _P + "harmbench",
        "harmbench/standard": _P + "harmbench_standard",
        "harmbench/contextual": _P + "harmbench_contextual",
        "harmbench/copyright": _P + "harmbench_copyright",
        "harmbench/val": _P + "harmbench_val",
        "harmbench/test": _P + "harmbench_test",
        "advbench": _P + "advbench",
        "malicious_instruct": _P + "malicious_instruct",
        "strongreject": _P + "strongreject",
        "simplesafetytests": _P + "simplesafetytests",
        "jbb_behaviors": _P + "jbb_behaviors",
        "jbb_artifacts": _P + "jbb_artifacts",
        "jbb_artifacts/pair": _P + "jbb_artifacts_pair",
        "jbb_artifacts/random_search": _P + "jbb_artifacts_random_search",
        "sorry_bench": _P + "sorry_bench",
        "ailuminate_demo": _P + "ailuminate_demo",
        "air_bench_2024_sample": _P + "air_bench_2024_sample",
        "air_bench_2024_sample/pipeline1": _P + "air_bench_pipeline1",
        "air_bench_2024_sample/pipeline2": _P + "air_bench_pipeline2",
        "red_instruct_catqa_harmfulqa": _P + "red_instruct_catqa_harmfulqa",
        "red_instruct_catqa_harmfulqa/catqa": _P + "catqa",
        "red_instruct_catqa_harmfulqa/harmfulqa": _P + "harmfulqa",
        "red_instruct_catqa_harmfulqa/dangerousqa": _P + "dangerousqa",
        "aart": _P + "aart",
        "safety_tuned_llamas": _P + "safety_tuned_llamas",
        "safety_tuned_llamas/cona": _P + "stl_cona",
        "safety_tuned_llamas/controversial": _P + "stl_controversial",
        "safety_tuned_llamas/malicious_instructions": _P + "stl_malicious_instructions",
        "safety_tuned_llamas/physical_safety": _P + "stl_physical_safety",
        "safety_tuned_llamas/alpaca": _P + "stl_alpaca",
        "qharm": _P + "qharm",
        "tdc2023_redteaming": _P + "tdc2023_redteaming",
        "beavertails_prompts": _P + "beavertails_prompts",
        "beavertails_prompts/bad": _P + "beavertails_bad",
        "beavertails_prompts/good": _P + "beavertails_good",
        "coconot": _P + "coconot",
        "coconot/eval": _P + "coconot_eval",
        "coconot/safety_concerns": _P + "coconot_safety_concerns",
        "coconot/contrast": _P + "coconot_contrast",
        "oktest": _P + "oktest",
        "oktest/main": _P + "oktest_main",
        "oktest/heldout": _P + "oktest_heldout",
        "trustllm_safety": _P + "trustllm_safety",
        "trustllm_safety/misuse": _P + "trustllm_misuse",
        "trustllm_safety/jailbreak": _P + "trustllm_jailbreak",
        "trustllm_safety/exaggerated_safety": _P + "trustllm_exaggerated_safety",
        "inthewild_jailbreak": _P + "inthewild_jailbreak",
        "alpaca_eval": _B + "alpaca_eval",
        "refusal_direction_splits": _B + "refusal_direction_splits",
        "refusal_direction_splits/harmless_train": _B + "harmless_train",
        "refusal_direction_splits/harmless_val": _B + "harmless_val",
        "refusal_direction_splits/harmless_test": _B + "harmless_test",
        "refusal_direction_splits/harmful_train": _B + "harmful_train",
        "refusal_direction_splits/harmful_val": _B + "harmful_val",
        "refusal_direction_splits/harmful_test": _B + "harmful_test",
        "arena_hard": _B + "arena_hard",
        "arena_hard/v0.1": _B + "arena_hard_v01",
        "arena_hard/v2.0": _B + "arena_hard_v20",
        "counsel_chat": _B + "counsel_chat",
        "mt_bench_vicuna80": _B + "mt_bench_vicuna80",
        "mt_bench_vicuna80/mt_bench": _B + "mt_bench",
        "mt_bench_vicuna80/vicuna": _B + "vicuna80",
        "koala_test_set": _B + "koala_test_set",
        "self_instruct_user_oriented": _B + "self_instruct_user_oriented",
        "wizardlm_testset": _B + "wizardlm_testset",
        "cyberseceval_mitre_frr": _B + "cyberseceval_mitre_frr",
        "notinject": _B + "notinject",
        "convabuse": _T + "convabuse",
        "convabuse/train": _T + "convabuse_train",
        "convabuse/valid": _T + "convabuse_valid",
        "convabuse/test": _T + "convabuse_test",
        "davidson_hate_offensive": _T + "davidson_hate_offensive",
        "olid_offenseval2019": _T + "olid_offenseval2019",
        "edos_sexism": _T + "edos_sexism",
        "paradetox": _T + "paradetox",
        "paradetox/pairs": _T + "paradetox_pairs",
        "paradetox/cannot_rewrite": _T + "paradetox_cannot_rewrite",
        "hatecheck": _T + "hatecheck",
        "toxichat_reddit_offensive": _T + "toxichat_reddit_offensive",
        "toxichat_reddit_offensive/train": _T + "toxichat_reddit_train",
        "toxichat_reddit_offensive/dev": _T + "toxichat_reddit_dev",
        "toxichat_reddit_offensive/test": _T + "toxichat_reddit_test",
        "sbic_dev": _T + "sbic_dev",
        "ethos": _T + "ethos_binary",
        "ethos/binary": _T + "ethos_binary",
        "ethos/multi_label": _T + "ethos_multi_label",
        "toxigen_seed_sentences": _T + "toxigen_seed_sentences",
        "toxigen_seed_sentences/demonstrations": _T + "toxigen_demonstrations",
        "toxigen_seed_sentences/prompts": _T + "toxigen_prompts",
        "diasafety": _T + "diasafety",
        "diasafety/train": _T + "diasafety_train",
        "diasafety/val": _T + "diasafety_val",
        "diasafety/test": _T + "diasafety_test",
        "cssrs_reddit_500": _T + "cssrs_reddit_500",
        "dna_contrast": "harmscope.data.dna_contrast:load",
        "look_alikes": "harmscope.data.look_alikes:load",
    },
    schemes={
        "openai-moderation:": _X + "openai_moderation",
        "wildguardtest:": _X + "wildguardtest",
        "toxicchat:": _X + "toxicchat",
    },
)

# Detectors: scikit-learn style estimators (harmscope.detectors).
DETECTORS = Registry(
    kind="detector",
    entries={
        "knn": "harmscope.detectors._knn:KNNDetector",
        "probe-lr": "harmscope.detectors._probe:LogisticProbe",
        "probe-mlp": "harmscope.detectors._probe:MLPProbe",
        "prototype": "harmscope.detectors._prototype:PrototypeDetector",
        "ensemble": "harmscope.detectors._ensemble:EnsembleDetector",
        "safety-analyst": "harmscope.detectors.harm_benefit._detector:SafetyAnalystDetector",
    },
    schemes={},
)
