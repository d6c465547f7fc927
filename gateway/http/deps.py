"""Dependencies the route handlers declare: the process's services and the calling principal."""

from __future__ import annotations

from typing import Annotated

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import QueryParameter, SkipValidation

from gateway.core.errors import AuthenticationError
from gateway.http.auth import Principal
from gateway.services import Services

__all__ = ["MAX_CURSOR_LENGTH", "Cursor", "PrincipalDep", "ServicesDep", "principal_dependency", "services_dependency"]

# Object ids are 31-32 characters; a cursor far longer than any id is refused before it reaches Redis.
MAX_CURSOR_LENGTH = 128
Cursor = Annotated[str | None, QueryParameter(max_length=MAX_CURSOR_LENGTH)]
# Not validated: the process's own object, and msgspec cannot model its Redis client (a union of two classes).
ServicesDep = NamedDependency[SkipValidation[Services]]
PrincipalDep = NamedDependency[Principal]


def services_dependency(state: State) -> Services:
    services: Services = state.services
    return services


def principal_dependency(request: Request[object, object, State], services: ServicesDep) -> Principal:
    principal = services.authenticator.authenticate(request.headers.get("authorization"))
    if principal is None:
        raise AuthenticationError(
            "Incorrect API key provided. You can find your API key in your batchgate tenant configuration."
            if request.headers.get("authorization")
            else "You didn't provide an API key. Send it as `Authorization: Bearer <key>`."
        )
    return principal
