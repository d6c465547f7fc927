"""The `validating` step: stream the input once, check every line, route by model, admit against the budget.

Content problems fail the batch with `errors.data[]` (never a create-time 400). A valid batch moves to
`in_progress` with its model, provider and request total; the next step submits it to the provider.
"""

from __future__ import annotations

import asyncio
import functools
from decimal import Decimal

from accounting.budget import check_budget, estimate_max_cost
from accounting.price_windows import highest_multiplier
from accounting.records import month_of
from accounting.tags import resolve_tags
from gateway.batches import BatchRecord, BatchStatus, Claim, IllegalTransitionError, RequestCounts
from gateway.storage.local import ObjectMissing
from gateway.validation import ValidationReport, Validator
from gateway.worker.context import WorkerContext
from gateway.worker.custom_ids import custom_ids_key, store_custom_ids
from gateway.worker.leg_costs import price_of
from gateway.worker.routes import first_route
from gateway.worker.settle import end_batch
from providers.base import BatchError

__all__ = ["validate_batch"]


async def fail_batch(ctx: WorkerContext, record: BatchRecord, errors: list[BatchError], cause: str) -> None:
    await end_batch(ctx, record, BatchStatus.FAILED, cause=cause, updates={"errors": tuple(errors)})


async def _read_and_validate(ctx: WorkerContext, record: BatchRecord, storage_key: str) -> ValidationReport:
    services = ctx.services
    serves_model = functools.partial(services.settings.serves, endpoint=record.endpoint)
    validator = Validator(record.endpoint, serves_model=serves_model, output_cap=services.settings.max_output_tokens)
    async for chunk in services.storage.open_read(storage_key):
        validator.feed(chunk)
        await asyncio.sleep(0)  # validation is CPU work: let the API served by this loop breathe
    report = validator.finish()
    if report.valid:  # then the validator holds every line's custom_id, in line order
        await store_custom_ids(services.storage, custom_ids_key(record.id), validator.custom_ids())
    return report


async def validate_batch(ctx: WorkerContext, record: BatchRecord, claim: Claim) -> None:
    services = ctx.services
    input_file = await services.files.get(record.input_file_id, tenant=record.tenant)
    missing = BatchError(code="input_file_missing", message=f"The input file {record.input_file_id} no longer exists.")
    # Every way out reschedules at once: a failed batch is closed (settled, released) without waiting for
    # its lease. Other storage errors than a missing object are transient: the step policy retries them.
    if input_file is None:
        await fail_batch(ctx, record, [missing], "input file missing")
    else:
        try:
            report = await _read_and_validate(ctx, record, input_file.storage_key)
        except ObjectMissing:
            await fail_batch(ctx, record, [missing], "input file missing")
        else:
            await _conclude(ctx, record, report)
    await ctx.reschedule(claim, 0)


async def _conclude(ctx: WorkerContext, record: BatchRecord, report: ValidationReport) -> None:
    if not report.valid:
        errors = [BatchError(code=e.code, message=e.message, param=e.param, line=e.line) for e in report.errors]
        await fail_batch(ctx, record, errors, f"validation found {report.error_count} problems")
        return
    await _admit(ctx, record, report)


async def _admit(ctx: WorkerContext, record: BatchRecord, report: ValidationReport) -> None:
    settings = ctx.services.settings
    first = first_route(settings, report.model or "", record.endpoint)
    assert first is not None  # the validator checked that some route serves the model and endpoint
    index, route = first
    # Any line may end on any later route: reserve what the dearest of them would cost.
    estimate = max(
        estimate_max_cost(
            report.estimated_input_tokens,
            report.max_output_tokens,
            price_of(candidate),
            settings.providers[candidate.provider].batch_discount,
            peak_multiplier=highest_multiplier(candidate.price_windows),
        )
        for candidate in settings.routes_for(report.model or "")[index:]
    )
    if not await _within_budget(ctx, record, estimate):
        return
    updates = {
        "model": report.model,
        "provider": route.provider,
        "upstream_model": route.upstream_name,
        "route_index": index,
        "request_counts": RequestCounts(total=report.requests),
        "estimated_max_cost_usd": str(estimate),
        "estimated_tokens": report.estimated_input_tokens + report.max_output_tokens,
    }
    try:
        await ctx.services.batches.transition(
            record.id,
            BatchStatus.IN_PROGRESS,
            cause=f"validated; routed to {route.provider}",
            now=int(ctx.clock()),
            updates=updates,
        )
    except IllegalTransitionError:
        await ctx.ledger.release(record.id)  # cancelled while we validated; the terminal step settles it


async def _within_budget(ctx: WorkerContext, record: BatchRecord, estimate: Decimal) -> bool:
    return await _within_tag_budgets(ctx, record, estimate) and await _within_tenant_budget(ctx, record, estimate)


async def _within_tag_budgets(ctx: WorkerContext, record: BatchRecord, estimate: Decimal) -> bool:
    """Reserve on every budget of the batch's tag values, or refuse naming the first one it would cross."""
    accounting = ctx.services.settings.accounting
    if not accounting.tag_budgets:
        return True
    tags = resolve_tags(record.metadata, accounting.tag_keys)
    month = month_of(int(ctx.clock()))
    decision = await ctx.services.tag_budgets.reserve_within(record.id, tags, estimate, month, accounting.budgets())
    if decision.allowed or decision.refused is None:
        return True
    refused = decision.refused
    message = (
        f"The batch's estimated maximum cost ({estimate} USD) would exceed the monthly budget of tag "
        f"{refused.key}={refused.value} ({refused.monthly_usd} USD; settled {decision.settled_usd}, "
        f"reserved {decision.reserved_usd})."
    )
    error = BatchError(code="budget_exceeded", message=message, param=f"metadata.{refused.key}")
    await fail_batch(ctx, record, [error], "tag budget exceeded")
    return False


async def _within_tenant_budget(ctx: WorkerContext, record: BatchRecord, estimate: Decimal) -> bool:
    tenant = next((t for t in ctx.services.settings.tenants if t.name == record.tenant), None)
    decision = await check_budget(
        ctx.ledger,
        tenant=record.tenant,
        batch_id=record.id,
        estimate_usd=estimate,
        budget_usd=tenant.monthly_budget_usd if tenant else None,
        month=month_of(int(ctx.clock())),
    )
    if decision.allowed:
        return True
    message = (
        f"The batch's estimated maximum cost ({estimate} USD) would exceed the tenant's monthly budget "
        f"({decision.budget_usd} USD; settled {decision.settled_usd}, reserved {decision.reserved_usd})."
    )
    await fail_batch(ctx, record, [BatchError(code="budget_exceeded", message=message)], "budget exceeded")
    return False
