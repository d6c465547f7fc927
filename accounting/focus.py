"""The ledger as FOCUS 1.2 cost and usage rows (FinOps Open Cost and Usage Specification), one per batch × token kind.

How batchgate's numbers map onto FOCUS:
- ListCost / ListUnitPrice: the real-time list price of the tokens (the ledger's `list_cost_usd`).
- ContractedCost / ContractedUnitPrice, BilledCost, EffectiveCost: the batch price after the provider's batch
  discount (`batch_cost_usd`); batch prices are published, not committed, so PricingCategory is `Standard`.
- x_Savings = ListCost − BilledCost, x_BatchDiscount the provider's discount fraction, x_TokenKind the kind.
- Pricing is per 1M tokens (PricingUnit `1000000 Tokens`, PricingQuantity = tokens / 10⁶); usage in Tokens.
- ProviderName, PublisherName, InvoiceIssuerName and BillingAccountId/Name: the upstream provider as configured
  (DeepSeek bills it); SubAccountId/Name: the tenant. ResourceId/Name: the batch id; SkuId the model,
  SkuPriceId `<model>:<kind>`. The charge period is the UTC day of settlement, inside its billing month.
- Tags: the batch's allocation tags as JSON (keys left `untagged` are omitted, FOCUS wants set values only),
  plus the provider-defined `batchgate/tenant` (prefixed, as FOCUS asks of provider-defined tags).
Amounts are exact decimals in plain notation; a null is an empty cell. Records settled before the per-kind
split was kept yield one row (x_TokenKind `all`) with the totals, so the export still sums to the ledger.
"""

from __future__ import annotations

import calendar
import csv
import io
import time
from collections.abc import Iterable, Iterator
from decimal import Context, Decimal, Inexact, InvalidOperation

import msgspec

from accounting.charges import CHARGE_KINDS, Charge
from accounting.records import LedgerRecord
from accounting.tags import UNTAGGED

__all__ = ["FOCUS_COLUMNS", "TENANT_TAG", "focus_csv", "focus_header", "focus_lines", "focus_rows"]

FOCUS_COLUMNS: tuple[str, ...] = (
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractedCost",
    "ContractedUnitPrice",
    "EffectiveCost",
    "InvoiceIssuerName",
    "ListCost",
    "ListUnitPrice",
    "PricingCategory",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "ResourceId",
    "ResourceName",
    "ResourceType",
    "ServiceCategory",
    "ServiceName",
    "ServiceSubcategory",
    "SkuId",
    "SkuPriceId",
    "SubAccountId",
    "SubAccountName",
    "Tags",
    "x_BatchDiscount",
    "x_BatchStatus",
    "x_Endpoint",
    "x_Savings",
    "x_TokenKind",
)
TENANT_TAG = "batchgate/tenant"
_EXACT = Context(prec=120, traps=[Inexact, InvalidOperation])
_KIND_NAMES = {"input": "uncached input", "cached_input": "cached input", "output": "output"}
_ENCODE = msgspec.json.Encoder(order="sorted").encode
Row = dict[str, str | None]


def _number(value: Decimal | int) -> str:
    """Plain decimal notation without trailing zeros ("0.5", never "5E-1" or "0.50")."""
    amount = Decimal(value)
    return "0" if amount.is_zero() else format(amount.normalize(_EXACT), "f")


def _moment(unix_seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(unix_seconds))


def _periods(settled_at: int) -> dict[str, str]:
    day = settled_at - settled_at % 86_400
    moment = time.gmtime(settled_at)
    month_start = calendar.timegm((moment.tm_year, moment.tm_mon, 1, 0, 0, 0))
    next_year, next_month = (moment.tm_year + 1, 1) if moment.tm_mon == 12 else (moment.tm_year, moment.tm_mon + 1)
    month_end = calendar.timegm((next_year, next_month, 1, 0, 0, 0))
    return {
        "ChargePeriodStart": _moment(day),
        "ChargePeriodEnd": _moment(day + 86_400),
        "BillingPeriodStart": _moment(month_start),
        "BillingPeriodEnd": _moment(month_end),
    }


def _tags(record: LedgerRecord) -> str:
    tags: dict[str, str] = {key: value for key, value in record.tags.items() if value != UNTAGGED}
    tags[TENANT_TAG] = record.tenant
    return _ENCODE(tags).decode()


def _common(record: LedgerRecord, provider: str) -> Row:
    return {
        "BillingAccountId": provider,
        "BillingAccountName": provider,
        "BillingCurrency": "USD",
        "ChargeCategory": "Usage",
        "ChargeClass": None,
        "ChargeFrequency": "Usage-Based",
        "InvoiceIssuerName": provider,
        "PricingCategory": "Standard",
        "ProviderName": provider,
        "PublisherName": provider,
        "ResourceId": record.batch_id,
        "ResourceName": record.batch_id,
        "ResourceType": "Batch",
        "ServiceCategory": "AI and Machine Learning",
        "ServiceName": f"{provider} batch inference",
        "ServiceSubcategory": "Generative AI",
        "SkuId": record.model,
        "SubAccountId": record.tenant,
        "SubAccountName": record.tenant,
        "Tags": _tags(record),
        "x_BatchStatus": record.status,
        "x_Endpoint": record.endpoint,
        **_periods(record.settled_at),
    }


def _costs(list_usd: Decimal, batch_usd: Decimal) -> Row:
    batch = _number(batch_usd)
    return {
        "BilledCost": batch,
        "EffectiveCost": batch,
        "ContractedCost": batch,
        "ListCost": _number(list_usd),
        "x_Savings": _number(_EXACT.subtract(list_usd, batch_usd)),
    }


def _charge_row(record: LedgerRecord, charge: Charge, provider: str) -> Row:
    unit = charge.list_usd_per_mtok
    contracted = None if unit is None else _EXACT.multiply(unit, _EXACT.subtract(Decimal(1), charge.batch_discount))
    return {
        **_common(record, provider),
        **_costs(charge.list_usd, charge.batch_usd),
        "ChargeDescription": f"{record.model} {_KIND_NAMES[charge.kind]} tokens, batch on {provider}",
        "ConsumedQuantity": _number(charge.tokens),
        "ConsumedUnit": "Tokens",
        "ContractedUnitPrice": None if contracted is None else _number(contracted),
        "ListUnitPrice": None if unit is None else _number(unit),
        "PricingQuantity": _number(_EXACT.scaleb(Decimal(charge.tokens), -6)),
        "PricingUnit": "1000000 Tokens",
        "SkuPriceId": f"{record.model}:{charge.kind}",
        "x_BatchDiscount": _number(charge.batch_discount),
        "x_TokenKind": charge.kind,
    }


def _total_row(record: LedgerRecord) -> Row:
    """A record without a per-kind split (settled before it was kept): its totals in one row."""
    return {
        **_common(record, record.provider),
        **_costs(record.list_cost_usd, record.batch_cost_usd),
        "ChargeDescription": f"{record.model} tokens, batch on {record.provider}",
        "ConsumedQuantity": None,
        "ConsumedUnit": None,
        "ContractedUnitPrice": None,
        "ListUnitPrice": None,
        "PricingQuantity": None,
        "PricingUnit": None,
        "SkuPriceId": None,
        "x_BatchDiscount": None,
        "x_TokenKind": "all",
    }


def focus_rows(record: LedgerRecord) -> list[Row]:
    """The record's FOCUS rows: one per token kind (input, cached_input, output), column → cell (None = null)."""
    if not record.charges:
        return [_total_row(record)]
    providers = _charge_providers(record)
    return [_charge_row(record, charge, provider) for charge, provider in zip(record.charges, providers, strict=True)]


def _charge_providers(record: LedgerRecord) -> list[str]:
    """Who served each charge: a batch that ran on several routes has one set of kinds per route, in order."""
    kinds = len(CHARGE_KINDS)
    if record.routes and len(record.charges) == kinds * len(record.routes):
        return [route.provider for route in record.routes for _ in range(kinds)]
    return [record.provider] * len(record.charges)


def _line(cells: Iterable[str | None]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(["" if cell is None else cell for cell in cells])
    return buffer.getvalue()


def focus_header() -> str:
    return _line(FOCUS_COLUMNS)


def focus_lines(record: LedgerRecord) -> Iterator[str]:
    for row in focus_rows(record):
        yield _line(row[column] for column in FOCUS_COLUMNS)


def focus_csv(records: Iterable[LedgerRecord]) -> Iterator[str]:
    """Streams a FOCUS CSV: the header row, then each record's rows."""
    yield focus_header()
    for record in records:
        yield from focus_lines(record)
