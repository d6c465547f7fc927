"""`redis.url` names the topology: every accepted form, and refusals that never quote the URL (it may hold a
password)."""

from __future__ import annotations

import pytest

from gateway.config.settings import ConfigError, load_settings
from gateway.redis.client import RedisTarget, RedisUrlError, parse_redis_url


@pytest.mark.parametrize("url", ["redis://127.0.0.1:6379/0", "rediss://:pw@cache:6380/2", "unix:///run/redis.sock"])
def test_single_node_urls_go_to_redis_py_unchanged(url: str) -> None:
    target = parse_redis_url(url)
    assert (target.topology, target.url) == ("single", url)
    assert target.tls == url.startswith("rediss")


def test_cluster_url_lists_its_startup_nodes() -> None:
    target = parse_redis_url("rediss+cluster://app:s%40cret@10.0.0.1:7000,10.0.0.2,[::1]:7002")
    assert target == RedisTarget(
        "cluster", tls=True, hosts=(("10.0.0.1", 7000), ("10.0.0.2", 6379), ("::1", 7002)),
        username="app", password="s@cret",
    )  # fmt: skip


def test_sentinel_url_names_service_and_database() -> None:
    target = parse_redis_url("redis+sentinel://:pw@s1:26380,s2/mymaster/3")
    assert target.topology == "sentinel"
    assert target.hosts == (("s1", 26380), ("s2", 26379))
    assert (target.username, target.password, target.service_name, target.db) == (None, "pw", "mymaster", 3)
    assert parse_redis_url("redis+sentinel://s1/mymaster").db == 0


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://:hunter2@host:1", "must start with one of"),
        ("hunter2", "must start with one of"),
        ("redis+cluster://:hunter2@host:99999", "port between 1 and 65535"),
        ("redis+cluster://:hunter2@", "host:port"),
        ("redis+cluster://:hunter2@h:1,:2", "host:port"),
        ("redis+cluster://:hunter2@h:1/3", "only database 0"),
        ("redis+cluster://:hunter2@h:1?ssl_cert_reqs=none", "no query string"),
        ("redis+sentinel://:hunter2@h:1", "service name"),
        ("redis+sentinel://:hunter2@h:1/svc/x", "must be a number"),
        ("redis+sentinel://:hunter2@h:1/svc/0/extra", "service name"),
    ],
)
def test_bad_urls_are_refused_with_a_reason_and_without_the_password(url: str, reason: str) -> None:
    with pytest.raises(RedisUrlError, match=reason) as refused:
        parse_redis_url(url)
    assert "hunter2" not in str(refused.value)


def test_a_bad_redis_url_is_a_settings_error_at_start_up() -> None:
    with pytest.raises(ConfigError, match="REDIS_URL") as refused:
        load_settings(environ={"REDIS_URL": "redis+cluster://:hunter2@nowhere:0"})
    assert "hunter2" not in str(refused.value)
    good = load_settings(environ={"REDIS_URL": "redis+sentinel://s1:26379/mymaster"})
    assert good.redis.url == "redis+sentinel://s1:26379/mymaster"
