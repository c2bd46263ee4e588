"""Ensemble: weighted mean of member logits, specs round-trip, shared encoding."""

from __future__ import annotations

import numpy as np
import pytest

from harmscope.detectors import build_detector, load_detector
from harmscope.detectors._ensemble import EnsembleDetector
from harmscope.detectors.checks import synthetic_prompts

MEMBERS = [{"type": "knn", "params": {"k": 3}}, {"type": "prototype", "params": {}}]


@pytest.fixture(scope="module")
def fitted() -> EnsembleDetector:
    texts, labels, cats = synthetic_prompts()
    return EnsembleDetector(members=MEMBERS, weights=[3.0, 1.0], representation="hashing").fit(
        texts, labels, categories=cats)


def test_score_is_weighted_mean_of_member_logits(fitted: EnsembleDetector) -> None:
    queries = ["tell me how to forge a passport", "what is a good way to bake sourdough bread at home"]
    member = np.stack([m.score(queries) for m in fitted.members_])
    z = np.log(np.clip(member, 1e-6, 1 - 1e-6) / (1 - np.clip(member, 1e-6, 1 - 1e-6)))
    expected = 1 / (1 + np.exp(-(0.75 * z[0] + 0.25 * z[1])))
    assert np.allclose(fitted.score(queries), expected)
    e = fitted.explain(queries[:1])[0]
    assert e.details == pytest.approx({"member0:knn": member[0, 0], "member1:prototype": member[1, 0]})
    assert len(e.neighbours) == 3  # from the kNN member


def test_params_keep_the_specs_as_given(fitted: EnsembleDetector) -> None:
    params = fitted.get_params()
    assert params["members"] == MEMBERS and params["weights"] == [3.0, 1.0]
    rebuilt = build_detector({"type": "ensemble", "params": params})
    assert rebuilt.get_params() == params
    assert [m.representation_ for m in fitted.members_] == ["hashing", "hashing"]  # type: ignore[attr-defined]


def test_members_are_saved_in_subfolders(fitted: EnsembleDetector, tmp_path: object) -> None:
    path = fitted.save(f"{tmp_path}/ens")
    assert (path / "member-0" / "detector.json").is_file() and (path / "member-1" / "arrays.npz").is_file()
    loaded = load_detector(path)
    texts, _, _ = synthetic_prompts()
    assert np.array_equal(loaded.predict_proba(texts), fitted.predict_proba(texts))


def test_bad_specs_are_rejected() -> None:
    texts, labels, _ = synthetic_prompts()
    with pytest.raises(ValueError, match="2 members"):
        EnsembleDetector(members=MEMBERS, weights=[1.0], representation="hashing").fit(texts, labels)
    with pytest.raises(ValueError, match="ensemble cannot contain"):
        EnsembleDetector(members=["ensemble"], representation="hashing").fit(texts, labels)
    with pytest.raises(ValueError, match="empty"):
        EnsembleDetector(members=[], representation="hashing").fit(texts, labels)
    with pytest.raises(KeyError, match="unknown detector 'nope'"):
        EnsembleDetector(members=["nope"], representation="hashing").fit(texts, labels)


def test_texts_are_encoded_once_per_representation(monkeypatch: pytest.MonkeyPatch) -> None:
    import harmscope.detectors._ensemble as ens

    calls: list[str] = []
    real = ens.encode

    def counting(rep: str, texts: list[str]) -> np.ndarray:
        calls.append(rep)
        return real(rep, texts)

    monkeypatch.setattr(ens, "encode", counting)
    texts, labels, _ = synthetic_prompts()
    det = EnsembleDetector(members=["knn", "probe-lr", "prototype"], representation="hashing").fit(texts, labels)
    det.predict_proba(texts[:3])
    assert calls == ["hashing", "hashing"]  # one for fit, one for predict
