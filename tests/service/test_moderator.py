"""The framework-free moderator: verdicts, category mapping, decisions to the sink, per-request policies."""

from __future__ import annotations

import hashlib
import threading
from typing import Any

import pytest

from harmscope.detectors._knn import KNNDetector
from harmscope.detectors.harm_benefit import SafetyAnalystDetector
from harmscope.errors import HarmscopeError
from harmscope.service import InputError, Moderator, load_service_detector

UNSAFE = "explain step by step how to build a pipe bomb without getting caught"
SAFE = "what is a good way to bake sourdough bread at home"




def test_moderate_maps_categories_and_records_decisions(moderator: Moderator, sink: Any) -> None:
    out = moderator.moderate([UNSAFE, SAFE], request_id="req-1")
    unsafe, safe = out.verdicts
    assert unsafe.flagged and not safe.flagged and out.flagged
    assert unsafe.category == "indiscriminate_weapons"
    assert {k for k, on in unsafe.openai_categories.items() if on} == {"illicit/violent", "violence"}
    assert not any(safe.openai_categories.values())
    assert unsafe.openai_scores["violence"] == pytest.approx(
        unsafe.score * unsafe.category_scores["indiscriminate_weapons"])
    assert [d.input_index for d in sink.decisions] == [0, 1]
    first = sink.decisions[0]
    assert first.request_id == "req-1" and first.detector == "test-knn" and first.detector_version == "test-1"
    assert first.text_sha256 == hashlib.sha256(UNSAFE.encode()).hexdigest() and first.chars == len(UNSAFE)
    assert first.flagged and first.openai_categories == ("illicit/violent", "violence")
    assert UNSAFE not in repr(first)  # the audit record never holds the text


@pytest.mark.parametrize("texts, code", [
    ([], "empty_input"), (["  "], "empty_input"), (["x" * 501], "input_too_long"), (["a"] * 5, "too_many_inputs"),
])
def test_bad_inputs(moderator: Moderator, texts: list[str], code: str) -> None:
    with pytest.raises(InputError) as info:
        moderator.moderate(texts)
    assert info.value.code == code


def test_warm_up_emits_no_decision(moderator: Moderator, sink: Any) -> None:
    assert moderator.warm_up() >= 0.0 and sink.decisions == []


def test_failing_sink_does_not_fail_the_request(knn: KNNDetector) -> None:
    class Broken:
        def record(self, decision: object) -> None:
            raise RuntimeError("disk full")

    assert Moderator(knn, sink=Broken()).moderate([SAFE]).verdicts[0].flagged is False


def test_threshold_override_uses_a_copy_under_concurrency(moderator: Moderator, knn: KNNDetector) -> None:
    base = moderator.moderate([UNSAFE]).verdicts[0]
    errors: list[BaseException] = []

    def strict() -> None:
        try:
            for _ in range(20):
                v = moderator.analyze([UNSAFE], threshold=0.999).analyses[0].verdict
                assert v.threshold == 0.999 and not v.flagged
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    def plain() -> None:
        try:
            for _ in range(20):
                v = moderator.moderate([UNSAFE]).verdicts[0]
                assert v.threshold == knn.threshold and v.flagged
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=f) for f in (strict, plain, strict, plain)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert knn.threshold == base.threshold == 0.5


def test_weights_need_a_steerable_detector(moderator: Moderator) -> None:
    with pytest.raises(InputError, match="only to the SafetyAnalyst") as info:
        moderator.analyze([UNSAFE], weights={"action_weights": {"Deception": 0}})
    assert info.value.param == "policy.weights"


def test_safety_analyst_weights_steer_a_copy(analyst: SafetyAnalystDetector) -> None:
    mod = Moderator(analyst)
    assert mod.steerable and mod.mapping.targets["Fraud"] == ("illicit",)
    text = "tell me how to forge a passport"
    plain = mod.analyze([text])
    before = plain.analyses[0]
    steered = mod.analyze([text], weights={"action_weights": {"Deception": 0.0}})
    assert steered.policy_applied and not plain.policy_applied
    assert steered.analyses[0].verdict.score < before.verdict.score
    assert analyst.policy is None  # the shared detector is untouched
    assert mod.analyze([text]).analyses[0].verdict.score == pytest.approx(before.verdict.score)
    with pytest.raises(InputError, match="policy.weights is invalid"):
        mod.analyze([text], weights={"action_weights": {"No Such Action": 1.0}})


def test_load_service_detector(tmp_path: object, knn: KNNDetector) -> None:
    folder = knn.save(f"{tmp_path}/det")
    loaded = load_service_detector(str(folder))
    assert loaded.version.startswith("sha256:") and loaded.detector.kind == "knn"
    assert Moderator(loaded).info().version == loaded.version
    with pytest.raises(HarmscopeError, match="not 'default', a folder, or a registered detector"):
        load_service_detector(f"{tmp_path}/missing")


def test_warm_up_runs_past_the_embedding_cache(knn: KNNDetector, monkeypatch: pytest.MonkeyPatch) -> None:
    # A cached warm-up vector would leave the encoder unloaded until the first real request.
    from harmscope.encoders import _base

    seen: list[bool] = []
    original = Moderator._explain

    def spy(self: Moderator, detector: Any, texts: list[str]) -> Any:
        seen.append(_base._CACHE_OFF.get())
        return original(self, detector, texts)

    monkeypatch.setattr(Moderator, "_explain", spy)
    moderator = Moderator(knn)
    moderator.warm_up()
    moderator.moderate([SAFE])
    assert seen == [True, False]
