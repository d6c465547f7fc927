"""Does an upstream's answer mean "this route does not serve the batch" (try the model's next route)?

Two signs: the Files/Batches endpoints are not there (404, 405, 501 on the paths every batch API has), or a
4xx whose message says the model or endpoint is not served. The phrases are the ones OpenAI, DeepSeek and
DeepInfra answer with; anything else (a 400 about the request, a 404 for one file) stays a plain refusal.
"""

from __future__ import annotations

import re

__all__ = ["NO_BATCH_API_STATUSES", "refuses_route"]

NO_BATCH_API_STATUSES = frozenset({404, 405, 501})

# Lower-cased message fragments. OpenAI: "The model `x` does not exist or you do not have access to it.",
# "... is not supported with the Batch API", "Invalid URL (POST /v1/batches)"; DeepSeek: "Model Not Exist";
# DeepInfra: "Model is not available", "model not found", "not supported for batch".
_UNSERVED = re.compile(
    r"model[^.]{0,80}(does not exist|not exist|not found|is not available|not available|is not supported"
    r"|not supported|unsupported)"
    r"|(not supported|unsupported|not available)[^.]{0,40}batch"
    r"|invalid url \((get|post|delete) /v1/(files|batches)"
    r"|unknown (model|endpoint)|no such model|endpoint[^.]{0,40}not supported",
)


def refuses_route(status: int, message: str, *, batch_api_path: bool) -> bool:
    """True when an answer of `status` with `message` says this upstream does not serve the batch.
    `batch_api_path`: the call went to a path every batch API has (a listing or a create), where a 404 means
    "no such API", not "no such object"."""
    if status in (401, 403) or not 400 <= status < 600:
        return False
    if status in NO_BATCH_API_STATUSES and (batch_api_path or status != 404):
        return True
    return 400 <= status < 500 and _UNSERVED.search(message.lower()) is not None
