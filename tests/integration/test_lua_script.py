"""`gateway.core.lua.Script` against a real Redis: by SHA when the server has the script, by EVAL when not."""

from __future__ import annotations

import redis.asyncio as aioredis

from gateway.core.lua import Script, evalsha_many

# Invariant: the counter only grows by the amount asked.
INCR = Script("return redis.call('INCRBY', KEYS[1], ARGV[1])")


async def _commands(client: aioredis.Redis) -> dict[str, int]:
    stats = await client.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in stats.items()}


async def test_a_script_runs_by_eval_once_then_by_sha(redis_client: aioredis.Redis) -> None:
    await redis_client.script_flush()
    await redis_client.config_resetstat()
    assert await INCR(redis_client, keys=["n"], args=[2]) == 2
    assert await INCR(redis_client, keys=["n"], args=[3]) == 5
    calls = await _commands(redis_client)
    assert (calls.get("eval"), calls.get("evalsha"), calls.get("script|load")) == (1, 2, None)


async def test_a_flushed_script_is_sent_again(redis_client: aioredis.Redis) -> None:
    assert await INCR(redis_client, keys=["m"], args=[1]) == 1
    await redis_client.script_flush()  # what a Redis restart does to the script cache
    assert await INCR(redis_client, keys=["m"], args=[1]) == 2
    assert await redis_client.script_exists(INCR.sha) == [True]


async def test_many_calls_report_noscript_per_call_until_loaded(redis_client: aioredis.Redis) -> None:
    await redis_client.script_flush()
    calls = [(INCR.sha, ["a"], [1]), (INCR.sha, ["b"], [2])]
    first = await evalsha_many(redis_client, calls)
    assert [type(reply).__name__ for reply in first] == ["NoScriptError", "NoScriptError"], first
    await INCR.load(redis_client)
    assert await evalsha_many(redis_client, calls) == [1, 2]
