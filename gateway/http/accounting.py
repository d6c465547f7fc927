"""`/v1/accounting`: what batches cost, per the contract in ARCHITECTURE.md §2.2.

Tenant-scoped: a tenant sees its own batches; an `admin = true` tenant sees every tenant. A batch that
has not settled yet answers with its running counts and its budget estimate, `settled_at: null`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, get
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Stream

from accounting.focus import focus_header, focus_lines
from accounting.records import AccountingRecord, LedgerRecord, SummaryRow, csv_header, csv_row
from accounting.summary import CORE_GROUPS
from accounting.tags import resolve_tags
from gateway.batches import BatchRecord
from gateway.core.errors import InvalidRequest, NotFound
from gateway.core.page import Page
from gateway.http.auth import Principal
from gateway.http.deps import Cursor, PrincipalDep, ServicesDep
from gateway.http.openapi import CsvOperation, CsvOrJsonOperation, accounting_page_responses, error_responses

__all__ = ["AccountingController"]


class AccountingPage(Page[AccountingRecord], frozen=True, kw_only=True):
    """A page of accounting records (the ledger's, in the contract's shape)."""

    data: list[AccountingRecord]  # named again for the OpenAPI schema (Litestar leaves T of a subclass unresolved)


class SummaryPage(msgspec.Struct, kw_only=True):
    object: Literal["list"] = "list"
    # Rows of SummaryRow's fields, with the grouped tag keys beside tenant/provider/model by name: the
    # operator names those keys, so a row is a mapping here rather than a Struct.
    data: list[dict[str, Any]]


def _summary_row(row: SummaryRow, group_by: Sequence[str]) -> dict[str, Any]:
    fields: dict[str, Any] = msgspec.to_builtins(row)
    tags = fields.pop("tags", None) or {}
    groups = {name: fields.pop(name, None) or tags.get(name) for name in group_by}
    return groups | fields


def _in_flight(record: BatchRecord, tag_keys: Sequence[str]) -> AccountingRecord:
    estimate = record.estimated_max_cost_usd
    return AccountingRecord(
        batch_id=record.id,
        tenant=record.tenant,
        provider=record.provider or "none",
        model=record.model or "unknown",
        endpoint=record.endpoint,
        status=record.status.value,
        requests_completed=record.request_counts.completed,
        requests_failed=record.request_counts.failed,
        estimated_max_cost_usd=Decimal(estimate) if estimate is not None else None,
        deferred_until=record.deferred_until,
        tags=resolve_tags(record.metadata, tag_keys),
    )


def _scope(principal: Principal) -> str | None:
    """The tenant whose records the caller may read; None (every tenant) for admins."""
    return None if principal.admin else principal.tenant


def _group_by(raw: str | None, tag_keys: Sequence[str]) -> list[str]:
    allowed = (*CORE_GROUPS, *tag_keys)
    names = [name.strip() for name in (raw or "").split(",") if name.strip()]
    unknown = [name for name in names if name not in allowed]
    if unknown or len(set(names)) != len(names):
        message = f"group_by takes distinct names from {', '.join(allowed)}; got {raw!r}."
        raise InvalidRequest(message, param="group_by", code="invalid_value")
    return names


class AccountingController(Controller):
    path = "/v1/accounting"

    @get("/batches/{batch_id:str}", responses=error_responses(404))
    async def record(self, batch_id: FromPath[str], services: ServicesDep, principal: PrincipalDep) -> AccountingRecord:
        tenant = _scope(principal)
        settled = await services.ledger.get(batch_id, tenant)
        if settled is not None:
            return settled.accounting(services.settings.accounting.tag_keys)
        batch = await services.batches.get(batch_id, tenant=tenant)
        if batch is None:
            raise NotFound(f"No batch found with id '{batch_id}'.", param="batch_id")
        return _in_flight(batch, services.settings.accounting.tag_keys)

    @get("/batches", responses=accounting_page_responses(AccountingPage), operation_class=CsvOrJsonOperation)
    async def records(
        self,
        services: ServicesDep,
        principal: PrincipalDep,
        after: Cursor = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
        since: Annotated[int | None, QueryParameter(ge=0)] = None,
        until: Annotated[int | None, QueryParameter(ge=0)] = None,
        format: FromQuery[Literal["json", "csv"]] = "json",
    ) -> AccountingPage | Stream:
        tenant = _scope(principal)
        if format == "csv":
            tag_keys = services.settings.accounting.tag_keys
            rows = _csv(services.ledger.iter_records(tenant, since=since, until=until), tag_keys)
            headers = {"content-disposition": 'attachment; filename="batchgate-accounting.csv"'}
            return Stream(rows, media_type="text/csv; charset=utf-8", headers=headers)
        page = await services.ledger.list(tenant, after=after, limit=limit, since=since, until=until)
        tag_keys = services.settings.accounting.tag_keys
        data = [record.accounting(tag_keys) for record in page.data]
        return AccountingPage(data=data, first_id=page.first_id, last_id=page.last_id, has_more=page.has_more)

    @get("/summary", responses=error_responses())
    async def summary(
        self,
        services: ServicesDep,
        principal: PrincipalDep,
        group_by: FromQuery[str | None] = None,
        since: Annotated[int | None, QueryParameter(ge=0)] = None,
        until: Annotated[int | None, QueryParameter(ge=0)] = None,
    ) -> SummaryPage:
        names = _group_by(group_by, services.settings.accounting.tag_keys)
        rows = await services.ledger.summary(_scope(principal), names, since=since, until=until)
        return SummaryPage(data=[_summary_row(row, names) for row in rows])

    @get("/focus", responses=error_responses(), operation_class=CsvOperation)
    async def focus(
        self,
        services: ServicesDep,
        principal: PrincipalDep,
        since: Annotated[int | None, QueryParameter(ge=0)] = None,
        until: Annotated[int | None, QueryParameter(ge=0)] = None,
    ) -> Stream:
        """The ledger as FOCUS 1.2 rows (CSV), one per batch × token kind; see accounting.focus."""
        records = services.ledger.iter_records(_scope(principal), since=since, until=until)
        headers = {"content-disposition": 'attachment; filename="batchgate-focus.csv"'}
        return Stream(_focus(records), media_type="text/csv; charset=utf-8", headers=headers)


async def _csv(records: AsyncIterator[LedgerRecord], tag_keys: Sequence[str]) -> AsyncIterator[str]:
    yield csv_header(tag_keys)
    async for record in records:
        yield csv_row(record, tag_keys)


async def _focus(records: AsyncIterator[LedgerRecord]) -> AsyncIterator[str]:
    yield focus_header()
    async for record in records:
        for line in focus_lines(record):
            yield line
