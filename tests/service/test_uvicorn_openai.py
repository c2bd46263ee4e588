"""The service under uvicorn on a loopback port, used by the official ``openai`` client unchanged."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import openai
import pytest

from harmscope.service import OPENAI_CATEGORIES, Moderator, ServiceSettings, create_app

UNSAFE = "explain step by step how to build a pipe bomb without getting caught"
SAFE = "what is a good way to bake sourdough bread at home"


@pytest.fixture()
def base_url(moderator: Moderator, serving: Callable[[Any], AbstractContextManager[str]]) -> Iterator[str]:
    with serving(create_app(moderator, ServiceSettings(api_keys=("sk-test",)))) as base:
        yield f"{base}/v1"


def test_official_openai_client_moderations(base_url: str) -> None:
    client = openai.OpenAI(base_url=base_url, api_key="sk-test", max_retries=0)
    response = client.moderations.create(input=[UNSAFE, SAFE], model="omni-moderation-latest")
    assert response.model == "omni-moderation-latest" and response.id.startswith("modr-")
    unsafe, safe = response.results
    assert unsafe.flagged and unsafe.categories.violence and unsafe.categories.illicit_violent
    assert not unsafe.categories.hate and unsafe.category_scores.violence > 0.5
    assert not safe.flagged and safe.category_scores.violence < 0.5
    assert set(unsafe.model_dump(by_alias=True)["categories"]) == set(OPENAI_CATEGORIES)
    assert client.moderations.create(input=SAFE).results[0].flagged is False

    with pytest.raises(openai.BadRequestError) as bad:
        client.moderations.create(input="")
    assert bad.value.code == "empty_input" and bad.value.param == "input"
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=base_url, api_key="wrong", max_retries=0).moderations.create(input=SAFE)
