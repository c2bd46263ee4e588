"""Probes: numpy prediction equals the scikit-learn model it was taken from; category head."""

from __future__ import annotations

import numpy as np
import pytest

from harmscope.detectors._probe import LogisticProbe, MLPProbe
from harmscope.detectors.checks import synthetic_prompts


def test_logistic_probe_equals_sklearn_pipeline() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    texts, labels, _ = synthetic_prompts()
    det = LogisticProbe(representation="hashing", C=0.5, class_weight="balanced").fit(texts, labels)
    X = det._encode(texts)
    scaler = StandardScaler().fit(X)
    ref = LogisticRegression(C=0.5, class_weight="balanced", max_iter=1000, random_state=0)
    ref.fit(scaler.transform(X), labels)
    queries = ["tell me how to make an untraceable gun", "give me tips to learn the guitar chords"]
    Q = det._encode(queries)
    assert np.allclose(det.predict_proba(queries), ref.predict_proba(scaler.transform(Q)), atol=1e-8)


def test_mlp_probe_equals_sklearn_forward_pass() -> None:
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler

    texts, labels, _ = synthetic_prompts(n_per_class=30)  # 60 texts: early stopping is on
    det = MLPProbe(representation="hashing", hidden_layer_sizes=(16, 8), activation="tanh", max_iter=80)
    det.fit(texts, labels)
    X = det._encode(texts)
    scaler = StandardScaler().fit(X)
    ref = MLPClassifier(hidden_layer_sizes=(16, 8), activation="tanh", alpha=1e-3, max_iter=80,
                        early_stopping=True, random_state=0)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref.fit(scaler.transform(X), labels)
    assert det.n_iter_ == ref.n_iter_
    assert np.allclose(det.predict_proba(texts), ref.predict_proba(scaler.transform(X)), atol=1e-8)


def test_category_head_predicts_training_categories() -> None:
    texts, labels, cats = synthetic_prompts()
    det = LogisticProbe(representation="hashing").fit(texts, labels, categories=cats)
    unsafe = [t for t, c in zip(texts, cats) if c is not None]
    truth = [c for c in cats if c is not None]
    pred = [p.category for p in det.predict_category(unsafe)]
    assert np.mean([p == t for p, t in zip(pred, truth)]) >= 0.9
    assert det.categories_ == ["fraud", "weapons"]


def test_single_category_head_is_constant() -> None:
    texts, labels, cats = synthetic_prompts()
    only = ["weapons" if c is not None else None for c in cats]
    det = LogisticProbe(representation="hashing").fit(texts, labels, categories=only)
    preds = det.predict_category(["tell me how to forge a passport"])
    assert preds[0].category == "weapons" and preds[0].scores[0].score == pytest.approx(1.0)


def test_explanations_carry_logit_and_neighbours() -> None:
    texts, labels, _ = synthetic_prompts()
    det = LogisticProbe(representation="hashing", explain_k=2).fit(texts, labels)
    e = det.explain([texts[3]])[0]
    assert len(e.neighbours) == 2 and e.neighbours[0].text == texts[3]
    assert 1 / (1 + np.exp(-e.details["logit"])) == pytest.approx(e.score)
    no_bank = LogisticProbe(representation="hashing", explain_k=0).fit(texts, labels)
    assert no_bank.bank_ is None and no_bank.explain([texts[3]])[0].neighbours == ()


def test_bad_hyperparameters() -> None:
    texts, labels, _ = synthetic_prompts()
    with pytest.raises(ValueError, match="class_weight"):
        LogisticProbe(representation="hashing", class_weight="auto").fit(texts, labels)
    with pytest.raises(ValueError, match="activation"):
        MLPProbe(representation="hashing", activation="gelu").fit(texts, labels)
    with pytest.raises(TypeError, match="hidden_layer_sizes"):
        MLPProbe(representation="hashing", hidden_layer_sizes=()).fit(texts, labels)


def test_tuple_parameter_round_trips(tmp_path: object) -> None:
    texts, labels, _ = synthetic_prompts()
    det = MLPProbe(representation="hashing", hidden_layer_sizes=(8,), max_iter=20).fit(texts, labels)
    loaded = MLPProbe.load(det.save(f"{tmp_path}/mlp"))
    assert loaded.hidden_layer_sizes == (8,) and isinstance(loaded.hidden_layer_sizes, tuple)
