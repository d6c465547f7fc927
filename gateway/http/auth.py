"""Bearer keys to tenants. Keys are compared as SHA-256 digests in constant time and never logged."""

from __future__ import annotations

import hashlib
import hmac

from gateway.config.settings import Tenant

__all__ = ["DEFAULT_TENANT", "Authenticator", "Principal"]

DEFAULT_TENANT = "default"


class Principal:
    """Who is calling: a tenant name and whether it may read every tenant's accounting."""

    __slots__ = ("admin", "tenant")

    def __init__(self, tenant: str, *, admin: bool) -> None:
        self.tenant = tenant
        self.admin = admin


class Authenticator:
    """With no tenants configured (dev mode, loopback only), any bearer key is tenant `default`."""

    def __init__(self, tenants: list[Tenant]) -> None:
        self._digests: list[tuple[bytes, Principal]] = []
        for tenant in tenants:
            principal = Principal(tenant.name, admin=tenant.admin)
            for key in tenant.api_keys:
                self._digests.append((hashlib.sha256(key.encode()).digest(), principal))
            for digest in tenant.api_key_sha256:
                self._digests.append((bytes.fromhex(digest), principal))
        self.dev_mode = not tenants

    def authenticate(self, authorization: str | None) -> Principal | None:
        key = _bearer_key(authorization)
        if key is None:
            return None
        if self.dev_mode:
            return Principal(DEFAULT_TENANT, admin=True)
        presented = hashlib.sha256(key.encode()).digest()
        found: Principal | None = None
        # Compare against every digest so timing does not reveal which tenant (or whether any) matched.
        for digest, principal in self._digests:
            if hmac.compare_digest(presented, digest):
                found = principal
        return found


def _bearer_key(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, key = authorization.partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        return None
    return key
