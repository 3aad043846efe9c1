from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from services.common.schemas import SCHEMA_VERSION, RawTweet, Route


def raw(version: int) -> bytes:
    return json.dumps({"schema_version": version, "id": "1", "text": "Joe Biden", "routes": [
        {"target": "Joe Biden", "party": "Democrats"}], "ingested_at": 1.0}).encode()


def test_a_reader_takes_its_own_version_and_refuses_a_newer_one_with_the_reason() -> None:
    assert RawTweet.model_validate_json(raw(SCHEMA_VERSION)).routes == [Route(target="Joe Biden", party="Democrats")]
    with pytest.raises(ValidationError) as err:
        RawTweet.model_validate_json(raw(SCHEMA_VERSION + 1))
    assert "schema_version" in str(err.value) and f"less than or equal to {SCHEMA_VERSION}" in str(err.value)
