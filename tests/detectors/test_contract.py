"""The estimator contract (harmscope.detectors.checks) over every registered detector."""

from __future__ import annotations

from typing import Any

import pytest

from harmscope.detectors import build_detector
from harmscope.detectors.checks import check_detector
from harmscope.registry import DETECTORS

# Offline and fast: the hashing encoder for all; a short training budget for the MLP.
FAST: dict[str, dict[str, Any]] = {"probe-mlp": {"max_iter": 60}}


@pytest.mark.parametrize("name", DETECTORS.names())
def test_detector_contract(name: str) -> None:
    params = {"representation": "hashing", **FAST.get(name, {})}
    check_detector(lambda: build_detector({"type": name, "params": params}))


def test_ensemble_contract_with_every_member_type() -> None:
    members = [{"type": n, "params": FAST.get(n, {})} for n in DETECTORS.names() if n != "ensemble"]
    check_detector(lambda: build_detector(
        {"type": "ensemble", "params": {"representation": "hashing", "members": members}}))
