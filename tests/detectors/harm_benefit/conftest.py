"""Shared fixtures: a small synthetic data set and its features (built once per session)."""

from __future__ import annotations

import pytest

from harmscope.detectors.harm_benefit import SyntheticData, TreeFeatures, TreeFeaturizer, synthetic_trees


@pytest.fixture(scope="session")
def synth() -> SyntheticData:
    return synthetic_trees(600, seed=3)


@pytest.fixture(scope="session")
def synth_features(synth: SyntheticData) -> TreeFeatures:
    return TreeFeaturizer().transform(synth.trees)
