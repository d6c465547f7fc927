"""A real HTTP server speaking the OpenAI Files + Batches API the way DeepSeek and DeepInfra do."""

from tests.support.batch_upstream.faults import Fault, Faults
from tests.support.batch_upstream.options import DEEPINFRA, DEEPSEEK, SimOptions
from tests.support.batch_upstream.server import BatchUpstream
from tests.support.batch_upstream.wire import fake_usage

__all__ = ["DEEPINFRA", "DEEPSEEK", "BatchUpstream", "Fault", "Faults", "SimOptions", "fake_usage"]
