"""Standard Webhooks signatures (https://www.standardwebhooks.com), as the openai SDK's `webhooks.unwrap()`
verifies them: `webhook-signature: v1,<base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}">`,
keyed with the base64-decoded part of a `whsec_` secret; several signatures are separated by spaces.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets as random_secrets

__all__ = ["new_secret", "secret_hint", "signed_headers"]

_SECRET_PREFIX = "whsec_"  # noqa: S105 - the Standard Webhooks secret prefix, not a secret
_SECRET_BYTES = 32


def new_secret() -> str:
    return _SECRET_PREFIX + base64.b64encode(random_secrets.token_bytes(_SECRET_BYTES)).decode()


def secret_hint(secret: str) -> str:
    """Enough to tell two secrets apart, nothing to sign with."""
    return f"{_SECRET_PREFIX}****{secret[-4:]}"


def _signature(secret: str, signed: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(_SECRET_PREFIX))
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def signed_headers(webhook_id: str, timestamp: int, body: bytes, secrets: list[str]) -> dict[str, str]:
    """The three Standard Webhooks headers; one signature per secret (two during a rotation's overlap)."""
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(_signature(secret, signed) for secret in secrets),
    }
