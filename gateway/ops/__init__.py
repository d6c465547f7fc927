"""Running the service: logs, the event loop, liveness, gauges and the worker's metrics port."""
