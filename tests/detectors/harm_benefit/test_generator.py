"""The TreeGenerator seam."""

from __future__ import annotations

from harmscope.detectors.harm_benefit import HarmBenefitModel, SyntheticTreeGenerator, TreeGenerator


def test_synthetic_generator_fits_the_protocol_and_is_deterministic() -> None:
    gen = SyntheticTreeGenerator()
    assert isinstance(gen, TreeGenerator)
    prompts = ["a", "b", "a"]
    out = gen.generate(prompts)
    assert len(out) == 3 and out[0].tree == out[2].tree and out[0].generator == "synthetic"
    assert all(r.complete for r in out)
    scores = HarmBenefitModel().scores([r.tree for r in out])
    assert scores.shape == (3,) and scores[0] == scores[2]
