"""Test helpers: real processes (redis-server, the gateway, simulated upstreams) on loopback."""
