"""The dead-letter replay route refuses a request beyond its bounds before it looks at the broker."""

from __future__ import annotations

import pytest

JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(
    "raw, where",
    [
        (b'{"message_ids": ["\\ud800"]}', None),
        (b'{"limit": NaN}', None),
        (b'{"limit": 100000000000000000000000}', ["body", "limit"]),
        (b'{"message_ids": ["' + b"x" * 300 + b'"]}', ["body", "message_ids", 0]),
        (b'{"fingerprint": "' + b"f" * 65 + b'"}', ["body", "fingerprint"]),
    ],
)
def test_a_replay_request_beyond_its_bounds_is_a_422(client, raw, where):
    response = client.post("/v1/dead-letters/email/replay", content=raw, headers=JSON)
    assert response.status_code == 422
    if where is not None:
        assert response.json()["detail"][0]["loc"] == where
