"""What each registered dataset is: description, role, license and label rule (no data is read here).

Kept beside the DATASETS registry table (``harmscope.registry``); tests check the two list the same names.
Roles: ``unsafe-only``, ``benign-only``, ``two-class``, ``paired`` (two-class with ``pair_id`` linking
matched prompts), ``mixed`` (some records labelled, some ``None``), ``unlabeled``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CatalogEntry:
    """Static facts about one registered dataset name."""

    role: str
    license: str
    label_rule: str
    description: str


U, B = "all unsafe", "all safe"
_NC = "⚠ non-commercial"


def _e(role: str, license: str, rule: str, description: str) -> CatalogEntry:
    return CatalogEntry(role, license, rule, description)


CATALOG: dict[str, CatalogEntry] = {
    # --- safety-prompt benchmarks ------------------------------------------------------------------
    "xstest": _e("two-class", "CC-BY-4.0", "label column (safe/unsafe)",
                 "XSTest over-refusal prompts: 250 safe look-alikes, 200 unsafe contrasts; category = type."),
    "xstest_aug_safe_embed": _e("paired", "⚠ no repo license (XSTest CC-BY-4.0)",
                                "unsafe_prompt → unsafe, safe_prompt → safe; pair_id = row id",
                                "Safe-Embed's 250 matched XSTest safe↔unsafe pairs; category = type."),
    "do_not_answer": _e("unsafe-only", "Apache-2.0", U,
                        "Do-Not-Answer questions; category = types_of_harm (12)."),
    "do_not_answer_fp_fn": _e("two-class", _NC + " (LibrAI)", "FP → safe, FN → unsafe",
                              "LibrAI DNA hard cases: benign questions with sensitive words vs disguised harm."),
    "do_not_answer_fp_fn/fp": _e("benign-only", _NC + " (LibrAI)", B,
                                 "DNA-FP: benign questions containing sensitive words."),
    "do_not_answer_fp_fn/fn": _e("unsafe-only", _NC + " (LibrAI)", U,
                                 "DNA-FN: harmful intent in indirect or benign framing."),
    "toxicchat_human": _e("two-class", _NC + " (ToxicChat CC-BY-NC-4.0)",
                          "unsafe iff toxicity majority_human == 1",
                          "ToxicChat train split, human-annotated (real Vicuna traffic); metadata jailbreaking."),
    "harmbench": _e("unsafe-only", "MIT", U,
                    "HarmBench standard + contextual behaviours (copyright rows are a separate subset)."),
    "harmbench/standard": _e("unsafe-only", "MIT", U, "HarmBench standard behaviours; category = SemanticCategory."),
    "harmbench/contextual": _e("unsafe-only", "MIT", U,
                               "HarmBench contextual behaviours; text = ContextString + blank line + Behavior."),
    "harmbench/copyright": _e("unsafe-only", "MIT", "all unsafe (HarmBench's sense: reproduce protected text)",
                              "HarmBench copyright behaviours (lyrics, book passages), not harmful requests."),
    "harmbench/val": _e("unsafe-only", "MIT", U, "HarmBench official val split, all functional categories."),
    "harmbench/test": _e("unsafe-only", "MIT", U, "HarmBench official test split, all functional categories."),
    "advbench": _e("unsafe-only", "MIT", U, "AdvBench harmful behaviours (near-duplicate-heavy)."),
    "malicious_instruct": _e("unsafe-only", "⚠ no repo license", U, "MaliciousInstruct, 10 intents × 10."),
    "strongreject": _e("unsafe-only", "MIT", U, "StrongREJECT forbidden prompts; 6 categories."),
    "simplesafetytests": _e("unsafe-only", "CC-BY-4.0", U, "SimpleSafetyTests critical-harm prompts; category = harm_area."),
    "jbb_behaviors": _e("paired", "MIT", "harmful_goal → unsafe, benign_goal → safe; pair_id = index",
                        "JBB-Behaviors 100 harmful goals matched to 100 benign goals."),
    "jbb_artifacts": _e("unsafe-only", "MIT", U, "JBB jailbreak prompts (PAIR + random search)."),
    "jbb_artifacts/pair": _e("unsafe-only", "MIT", "all unsafe; goals without a prompt skipped",
                             "PAIR jailbreaks against Vicuna-13B."),
    "jbb_artifacts/random_search": _e("unsafe-only", "MIT", U, "Random-search suffix jailbreaks against GPT-4."),
    "sorry_bench": _e("unsafe-only", "⚠ gated upstream", U,
                      "SORRY-Bench 2024-06 base prompts; category = category name (45)."),
    "ailuminate_demo": _e("unsafe-only", "CC-BY-4.0", U, "MLCommons AILuminate v1.0 demo; category = hazard."),
    "air_bench_2024_sample": _e("unsafe-only", "CC-BY-4.0", U, "AIR-Bench 2024 sample; category = L2 name."),
    "air_bench_2024_sample/pipeline1": _e("unsafe-only", "CC-BY-4.0", U, "AIR-Bench sample (Llama-3-8B file)."),
    "air_bench_2024_sample/pipeline2": _e("unsafe-only", "CC-BY-4.0", U, "AIR-Bench sample (GPT-4-turbo file)."),
    "red_instruct_catqa_harmfulqa": _e("unsafe-only", "Apache-2.0", U, "CatQA + HarmfulQA + DangerousQA."),
    "red_instruct_catqa_harmfulqa/catqa": _e("unsafe-only", "Apache-2.0", U,
                                             "CategoricalHarmfulQA; category = harm category."),
    "red_instruct_catqa_harmfulqa/harmfulqa": _e("unsafe-only", "Apache-2.0", U,
                                                 "HarmfulQA; category = academic topic."),
    "red_instruct_catqa_harmfulqa/dangerousqa": _e("unsafe-only", "Apache-2.0", U, "DangerousQA, no categories."),
    "aart": _e("unsafe-only", "CC-BY-4.0", U, "Google AART adversarial prompts; category = crime."),
    "safety_tuned_llamas": _e("two-class", "⚠ no license file", "per part (see subsets)",
                              "Safety-Tuned LLaMAs eval sets (CoNa, Controversial, MaliciousInstructions, "
                              "PhysicalSafety pairs, Alpaca)."),
    "safety_tuned_llamas/cona": _e("unsafe-only", "⚠ no license file", U, "CoNa hateful instructions."),
    "safety_tuned_llamas/controversial": _e("unsafe-only", "⚠ no license file", U, "Controversial topics."),
    "safety_tuned_llamas/malicious_instructions": _e("unsafe-only", "⚠ no license file", U,
                                                     "MaliciousInstructions; category = tag (hate/crime)."),
    "safety_tuned_llamas/physical_safety": _e("paired", "⚠ no license file",
                                              "Unsafe[i] → unsafe, Safe[i] → safe; pair_id = i",
                                              "PhysicalSafety matched scenario pairs."),
    "safety_tuned_llamas/alpaca": _e("benign-only", "⚠ no license file", B, "50 Alpaca instructions."),
    "qharm": _e("unsafe-only", _NC + " (LibrAI)", "all unsafe (set-level; a few are mild)",
                "QHarm, Anthropic red-team derived."),
    "tdc2023_redteaming": _e("unsafe-only", _NC + " (LibrAI)", U, "TDC 2023 red-teaming behaviours."),
    "beavertails_prompts": _e("unlabeled", _NC, "None (split by RESPONSE safety, not prompt)",
                              "BeaverTails prompts (Bad + Good); not binary ground truth."),
    "beavertails_prompts/bad": _e("unlabeled", _NC, "None", "BeaverTails prompts whose response was unsafe."),
    "beavertails_prompts/good": _e("unlabeled", _NC, "None (many are harmful)",
                                   "BeaverTails prompts whose response was safe."),
    "coconot": _e("mixed", "MIT / ODC-BY", "eval: safety concerns → unsafe, other noncompliance → None; "
                  "contrast → safe", "CoCoNot eval + contrast; category = subcategory."),
    "coconot/eval": _e("mixed", "MIT / ODC-BY", "safety concerns → unsafe, other categories → None",
                       "CoCoNot should-not-comply prompts (all 5 categories)."),
    "coconot/safety_concerns": _e("unsafe-only", "MIT / ODC-BY", U,
                                  "CoCoNot 'Requests with safety concerns' only."),
    "coconot/contrast": _e("benign-only", "MIT / ODC-BY", "all safe (should comply)",
                           "CoCoNot contrast set: benign look-alikes."),
    "oktest": _e("benign-only", "⚠ no license", B, "OKTest over-refusal prompts (main + heldout)."),
    "oktest/main": _e("benign-only", "⚠ no license", B, "OKTest 300."),
    "oktest/heldout": _e("benign-only", "⚠ no license", B, "OKTest held-out 50."),
    "trustllm_safety": _e("two-class", "MIT (check HF card)", "misuse/jailbreak → unsafe, exaggerated → safe",
                          "TrustLLM safety section."),
    "trustllm_safety/misuse": _e("unsafe-only", "MIT (check HF card)", U,
                                 "DAN forbidden questions + DNA + added misuse; category = source's type."),
    "trustllm_safety/jailbreak": _e("unsafe-only", "MIT (check HF card)", U,
                                    "14 jailbreak methods × 100; category = method."),
    "trustllm_safety/exaggerated_safety": _e("benign-only", "MIT (check HF card)", B, "XSTest safe subset."),
    "inthewild_jailbreak": _e("unsafe-only", "Apache-2.0 / MIT", U, "In-the-wild DAN-style jailbreak templates."),
    "alpaca_eval": _e("benign-only", "CC-BY-NC-4.0 (eval set)", B, "AlpacaEval instructions; category = dataset."),
    "refusal_direction_splits": _e("two-class", "Apache-2.0 / Alpaca CC-BY-NC-4.0",
                                   "harmless_* → safe, harmful_* → unsafe",
                                   "Arditi et al. refusal-direction splits (31k Alpaca + 871 harmful)."),
    **{f"refusal_direction_splits/{s}": _e("benign-only" if s.startswith("harmless") else "unsafe-only",
                                           "Apache-2.0 / Alpaca CC-BY-NC-4.0",
                                           B if s.startswith("harmless") else U, f"refusal_direction {s}.")
       for s in ("harmless_train", "harmless_val", "harmless_test", "harmful_train", "harmful_val",
                 "harmful_test")},
    # --- benign chat prompts ---------------------------------------------------------------------------
    "arena_hard": _e("benign-only", "Apache-2.0", B, "Arena-Hard v0.1 + v2.0 real Chatbot Arena prompts."),
    "arena_hard/v0.1": _e("benign-only", "Apache-2.0", B, "Arena-Hard v0.1; category = cluster."),
    "arena_hard/v2.0": _e("benign-only", "Apache-2.0", B, "Arena-Hard v2.0; category = subcategory."),
    "counsel_chat": _e("benign-only", "MIT", "all safe; one record per questionID",
                       "Therapy questions on sensitive topics; category = topic."),
    "mt_bench_vicuna80": _e("benign-only", "Apache-2.0", B, "MT-bench + Vicuna-80 first turns."),
    "mt_bench_vicuna80/mt_bench": _e("benign-only", "Apache-2.0", B, "MT-bench 80 (first turn)."),
    "mt_bench_vicuna80/vicuna": _e("benign-only", "Apache-2.0", B, "Vicuna-80."),
    "koala_test_set": _e("benign-only", "⚠ academic use, evaluation only", B, "Koala test prompts."),
    "self_instruct_user_oriented": _e("benign-only", "Apache-2.0", B,
                                      "Self-Instruct user tasks; text = instruction + first input."),
    "wizardlm_testset": _e("benign-only", "⚠ CC-BY-NC-4.0", B, "WizardLM test set; category = Skill."),
    "cyberseceval_mitre_frr": _e("benign-only", "MIT", "is_malicious (all false → safe)",
                                 "CyberSecEval false-refusal security prompts."),
    "notinject": _e("benign-only", "MIT", B, "NotInject over-defense prompts with trigger words."),
    # --- toxic / abusive text ------------------------------------------------------------------------
    "convabuse": _e("two-class", "CC-BY-4.0", "annotator majority: any of -1..-3 → abusive; tie → None",
                    "ConvAbuse user messages to chatbots."),
    **{f"convabuse/{s}": _e("two-class", "CC-BY-4.0", "annotator majority; tie → None", f"ConvAbuse {s} split.")
       for s in ("train", "valid", "test")},
    "davidson_hate_offensive": _e("two-class", "MIT", "hate or offensive → unsafe, neither → safe",
                                  "Davidson tweets; category = hate/offensive/neither."),
    "olid_offenseval2019": _e("two-class", "⚠ research", "subtask_a OFF → unsafe, NOT → safe",
                              "OLID/OffensEval-2019 train; category = subtask_b."),
    "edos_sexism": _e("two-class", "CC0-1.0", "sexist → unsafe, not sexist → safe",
                      "EDOS sexism (Reddit, Gab); category = label_category."),
    "paradetox": _e("mixed", "CC0-1.0", "pairs: toxic → unsafe, neutral → safe; cannot_rewrite: by reasons",
                    "ParaDetox toxic↔neutral pairs + cannot-rewrite comments."),
    "paradetox/pairs": _e("paired", "CC0-1.0", "toxic → unsafe, neutral1..3 → safe; pair_id = row",
                          "ParaDetox matched toxic↔neutral paraphrases."),
    "paradetox/cannot_rewrite": _e("mixed", "CC0-1.0",
                                   "only toxic_content → unsafe, only not_toxic → safe, else None",
                                   "Comments that could not be detoxified."),
    "hatecheck": _e("two-class", "CC-BY-4.0", "label_gold hateful → unsafe, non-hateful → safe",
                    "HateCheck functional tests; category = functionality."),
    "toxichat_reddit_offensive": _e("two-class", "⚠ CC-BY-SA-4.0", "Offensive → unsafe, Safe → safe",
                                    "Baheti et al. Reddit turns (not LMSYS ToxicChat)."),
    **{f"toxichat_reddit_offensive/{s}": _e("two-class", "⚠ CC-BY-SA-4.0", "Offensive → unsafe, Safe → safe",
                                            f"Reddit turns, {s} split.") for s in ("train", "dev", "test")},
    "sbic_dev": _e("two-class", "⚠ CC-BY-4.0 (unverified)", "mean offensiveYN ≥ 0.5 → unsafe; none → None",
                   "Social Bias Frames dev, one record per post."),
    "ethos": _e("two-class", "⚠ GPL-3.0", "isHate > 0.5 → unsafe, else safe", "ETHOS binary (same as ethos/binary)."),
    "ethos/binary": _e("two-class", "⚠ GPL-3.0", "isHate > 0.5 → unsafe, else safe", "ETHOS binary comments."),
    "ethos/multi_label": _e("unsafe-only", "⚠ GPL-3.0", U, "ETHOS hateful comments; category = labels ≥ 0.5."),
    "toxigen_seed_sentences": _e("two-class", "MIT + CDLA-Permissive-2.0", "hate → unsafe, neutral → safe",
                                 "ToxiGen seed sentences (demonstrations + prompt files)."),
    "toxigen_seed_sentences/demonstrations": _e("two-class", "MIT + CDLA-Permissive-2.0",
                                                "hate_* → unsafe, neutral_* → safe",
                                                "ToxiGen demonstrations; category = target group."),
    "toxigen_seed_sentences/prompts": _e("two-class", "MIT + CDLA-Permissive-2.0",
                                         "hate_* → unsafe, neutral_* → safe; distinct seeds per file",
                                         "Seeds in the women/trans prompt files."),
    "diasafety": _e("unlabeled", "Apache-2.0", "None (labels are about the response)",
                    "DiaSafety user contexts; category = source category."),
    **{f"diasafety/{s}": _e("unlabeled", "Apache-2.0", "None (labels are about the response)",
                            f"DiaSafety {s} contexts.") for s in ("train", "val", "test")},
    "cssrs_reddit_500": _e("two-class", "⚠ CC BY (third-party copy)",
                           "user level Ideation/Behavior/Attempt → unsafe, Supportive/Indicator → safe",
                           "Reddit C-SSRS posts, one record per post; category = level."),
    # --- built by harmscope.data.dna_contrast -------------------------------------------------------
    "dna_contrast": _e("paired", "our edits + Do-Not-Answer Apache-2.0", "DNA question → unsafe, edits → safe",
                       "Safety-Contrast: Do-Not-Answer prompts with safe minimal edits (harmscope.data.dna_contrast)."),
    "look_alikes": _e("paired", "ours (written for harmscope)", "unsafe side → unsafe, safe side → safe; pair_id = pair id",
                      "Hand-written benign look-alikes next to harmful counterparts (harmscope.data.look_alikes)."),
    # --- path-based (not shipped) --------------------------------------------------------------------
    "openai-moderation:": _e("two-class", "MIT (openai/moderation-api-release)",
                             "any code 1 → unsafe, all present codes 0 → safe, none → skipped",
                             "OpenAI moderation eval samples-1680.jsonl, from PATH. Evaluation only."),
    "wildguardtest:": _e("two-class", "ODC-BY (allenai)", "prompt_harm_label harmful/unharmful; missing → skipped",
                         "WildGuardTest from PATH (parquet/jsonl). Evaluation only."),
    "toxicchat:": _e("two-class", "CC-BY-NC-4.0", "toxicity 1 → unsafe, 0 → safe",
                     "LMSYS ToxicChat from PATH (csv/jsonl/parquet or JUDGE-BENCH json). Evaluation only."),
}
