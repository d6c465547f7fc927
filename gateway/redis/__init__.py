"""Redis: the client, its topologies and retry policy, the embedded server, and every key."""
