"""batchgate's accounting API (`/v1/accounting/summary`, `/v1/accounting/focus`) for the user's CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from gateway.client.api import Api, Reply, _params, _raise_for

__all__ = ["AccountingApi", "SummaryView"]


class SummaryView(msgspec.Struct, kw_only=True):
    """The summary page; rows stay mappings because the grouped tag keys are the operator's names."""

    data: list[dict[str, Any]]
    object: str = "list"


class AccountingApi(Api):
    def __enter__(self) -> AccountingApi:
        return self

    def summary(self, *, group_by: str | None, since: int | None, until: int | None) -> Reply[SummaryView]:
        params = _params(group_by=group_by, since=since, until=until)
        return self._call("GET", "accounting/summary", SummaryView, params=params)

    def focus(self, dest: Path, *, since: int | None, until: int | None) -> int:
        """Stream the FOCUS CSV to `dest` (through `dest.part`, so a cut-off export leaves no `dest`); → bytes."""
        partial = dest.with_name(dest.name + ".part")
        written = 0
        params = _params(since=since, until=until)
        with self._transport_errors(), self._http.stream("GET", "accounting/focus", params=params) as response:
            if response.status_code != 200:
                response.read()
                _raise_for(response)
            with partial.open("wb") as out:
                for chunk in response.iter_bytes():
                    out.write(chunk)
                    written += len(chunk)
        partial.replace(dest)
        return written
