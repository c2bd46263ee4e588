"""build_detector / load_detector / params / calibration / input checks."""

from __future__ import annotations

import json

import numpy as np
import pytest

from harmscope.detectors import NotFittedError, build_detector, clone, list_detectors, load_detector
from harmscope.detectors._calibration import fit_platt, sigmoid
from harmscope.detectors._knn import KNNDetector
from harmscope.detectors._probe import LogisticProbe
from harmscope.detectors.checks import synthetic_prompts
from harmscope.errors import HarmscopeError, UnknownNameError


def test_build_from_name_and_spec() -> None:
    assert isinstance(build_detector("knn"), KNNDetector)
    det = build_detector({"type": "knn", "params": {"k": 4, "representation": "hashing"}})
    assert det.get_params()["k"] == 4
    assert {"ensemble", "knn", "probe-lr", "probe-mlp", "prototype", "safety-analyst"} <= set(list_detectors())
    with pytest.raises(UnknownNameError, match="unknown detector 'svm'"):
        build_detector("svm")
    with pytest.raises(HarmscopeError, match="no parameter.*neighbours.*valid: calibrate"):
        build_detector({"type": "knn", "params": {"neighbours": 3}})
    with pytest.raises(HarmscopeError, match="unknown keys"):
        build_detector({"type": "knn", "k": 3})
    with pytest.raises(TypeError):
        build_detector(3)  # type: ignore[arg-type]


def test_get_set_params_and_repr() -> None:
    det = KNNDetector(representation="hashing", k=3)
    assert det.get_params() == {"calibrate": True, "center": False, "explain_k": 10, "index": "auto", "k": 3,
                                "representation": "hashing", "temperature": 0.05, "threshold": 0.5}
    assert det.set_params(k=7) is det and det.k == 7
    assert repr(det) == "KNNDetector(k=7, representation='hashing')"
    with pytest.raises(ValueError, match="no parameter 'kk'"):
        det.set_params(kk=1)
    twin = clone(det)
    assert twin.get_params() == det.get_params() and twin is not det
    with pytest.raises(TypeError):
        clone("knn")  # type: ignore[type-var]


def test_only_threshold_is_live_after_fit() -> None:
    texts, labels, _ = synthetic_prompts()
    det = KNNDetector(representation="hashing", k=5).fit(texts, labels)
    before = det.predict_proba(texts)
    det.set_params(k=1)
    assert np.array_equal(det.predict_proba(texts), before)  # k takes effect on the next fit
    with pytest.raises(ValueError, match="threshold must be in"):
        det.set_params(threshold=1.5).predict(texts)


def test_label_and_category_checks() -> None:
    texts, labels, cats = synthetic_prompts()
    det = LogisticProbe(representation="hashing")
    words = ["unsafe" if v else "safe" for v in labels]
    assert np.array_equal(det.fit(texts, words).coef_, LogisticProbe(representation="hashing")
                          .fit(texts, np.asarray(labels)).coef_)
    with pytest.raises(ValueError, match="both safe and unsafe"):
        det.fit(texts, [1] * len(texts))
    with pytest.raises(ValueError, match="labels"):
        det.fit(texts, labels[:-1])
    with pytest.raises(TypeError, match="categories\\[0\\]"):
        det.fit(texts, labels, categories=[1] * len(texts))
    with pytest.raises(ValueError, match="at least one"):
        det.fit([], [])
    with pytest.raises(TypeError, match="single str"):
        det.fit("one text", [1])
    # categories given for safe texts are ignored
    noisy = [c if c is not None else "cooking" for c in cats]
    assert det.fit(texts, labels, categories=noisy).categories_ == ["fraud", "weapons"]


def test_unfitted_and_bad_load(tmp_path: object) -> None:
    with pytest.raises(NotFittedError, match="not fitted yet; call fit"):
        KNNDetector().save(f"{tmp_path}/x")
    with pytest.raises(HarmscopeError, match="detector.json is missing"):
        load_detector(f"{tmp_path}/nowhere")
    texts, labels, _ = synthetic_prompts()
    path = KNNDetector(representation="hashing").fit(texts, labels).save(f"{tmp_path}/knn")
    with pytest.raises(HarmscopeError, match="holds a 'knn' detector, not a LogisticProbe"):
        LogisticProbe.load(path)
    meta = json.loads((path / "detector.json").read_text())
    assert meta["type"] == "knn" and meta["params"]["k"] == 10 and "arrays" not in meta
    assert (path / "bank.jsonl").read_text().count("\n") == len(texts)
    meta["version"] = 99
    (path / "detector.json").write_text(json.dumps(meta))
    with pytest.raises(HarmscopeError, match="version 99"):
        load_detector(path)


def test_params_must_be_plain_data_to_save(tmp_path: object) -> None:
    texts, labels, _ = synthetic_prompts()
    det = KNNDetector(representation="hashing").fit(texts, labels)
    det.set_params(threshold=np.float64(0.25))
    loaded = load_detector(det.save(f"{tmp_path}/a"))
    assert loaded.get_params()["threshold"] == 0.25
    det.threshold = object()  # type: ignore[assignment]
    with pytest.raises(HarmscopeError, match="cannot save params.threshold"):
        det.save(f"{tmp_path}/b")


def test_feature_width_mismatch_is_explained() -> None:
    texts, labels, _ = synthetic_prompts()
    det = KNNDetector(representation="hashing").fit(texts, labels)
    det.n_features_in_ = 10
    with pytest.raises(HarmscopeError, match="fitted on width 10"):
        det.predict(texts)


def test_platt_matches_unregularised_logistic_regression_on_overlapping_scores() -> None:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 4000)
    raw = rng.normal(2.0 * y - 1.0, 1.5)
    platt = fit_platt(raw, y)
    ref = LogisticRegression(C=1e6).fit(raw[:, None], y)
    # Platt's smoothed targets differ from 0/1 by ~1/n: the fits agree closely on a large sample.
    assert platt.slope == pytest.approx(float(ref.coef_[0, 0]), rel=0.02)
    assert platt.intercept == pytest.approx(float(ref.intercept_[0]), abs=0.02)


def test_platt_stays_finite_on_separable_scores() -> None:
    y = np.array([0, 0, 0, 1, 1, 1])
    platt = fit_platt(np.array([-3.0, -2, -1, 1, 2, 3]), y)
    assert np.isfinite(platt.slope) and platt.slope > 0
    p = platt.apply(np.array([-3.0, 3.0]))
    assert 0 < p[0] < 0.5 < p[1] < 1
    assert sigmoid(np.array([0.0]))[0] == 0.5
