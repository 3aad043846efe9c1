from __future__ import annotations

from redis.exceptions import ReadOnlyError, ResponseError

from services.aggregate.redis_store import store_failure


def test_store_wide_refusals_are_told_from_one_records_error() -> None:
    assert store_failure(ResponseError("Error running script (call to f_x): @user_script:6: -OOM command not allowed"))
    assert store_failure(ResponseError("MISCONF Redis is configured to save RDB snapshots, but it's unable to"))
    assert store_failure(ReadOnlyError("You can't write against a read only replica."))
    assert not store_failure(ResponseError("WRONGTYPE Operation against a key holding the wrong kind of value"))
    assert not store_failure(ResponseError("Error running script: @user_script:3: ROOMS is not a command"))
    assert not store_failure(True)
