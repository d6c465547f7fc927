"""The FOCUS 1.2 column rules our export claims to meet, as checks (from the FOCUS 1.2 spec's column pages).

Sources: FinOps-Open-Cost-and-Usage-Spec/FOCUS_Spec at tag v1.2 — specification/columns/*.md (feature
level, nullability, data type, allowed values) and specification/attributes/*.md (numeric, date/time,
null handling, custom columns). Only the columns batchgate emits and the rules that concern them.
"""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal

__all__ = ["MANDATORY", "check_focus_csv", "parse_focus_csv"]

# Feature level "Mandatory" in 1.2 (all must be present); the second set also "Allows nulls: False".
MANDATORY = {
    "BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency", "BillingPeriodEnd",
    "BillingPeriodStart", "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargePeriodEnd",
    "ChargePeriodStart", "ContractedCost", "EffectiveCost", "InvoiceIssuerName", "ListCost", "PricingQuantity",
    "PricingUnit", "ProviderName", "PublisherName", "ServiceCategory", "ServiceName",
}  # fmt: skip
NOT_NULL = MANDATORY - {"BillingAccountName", "ChargeClass", "ChargeDescription", "PricingQuantity", "PricingUnit"}
NOT_NULL |= {"ChargeFrequency", "ServiceSubcategory"}  # Recommended columns that, when present, allow no nulls
DECIMAL = {
    "BilledCost", "ConsumedQuantity", "ContractedCost", "ContractedUnitPrice", "EffectiveCost", "ListCost",
    "ListUnitPrice", "PricingQuantity",
}  # fmt: skip
DATETIME = {"BillingPeriodEnd", "BillingPeriodStart", "ChargePeriodEnd", "ChargePeriodStart"}
ALLOWED = {
    "ChargeCategory": {"Usage", "Purchase", "Tax", "Credit", "Adjustment"},
    "ChargeClass": {"Correction"},
    "ChargeFrequency": {"One-Time", "Recurring", "Usage-Based"},
    "PricingCategory": {"Standard", "Dynamic", "Committed", "Other"},
    "ServiceCategory": {
        "AI and Machine Learning",
        "Analytics",
        "Business Applications",
        "Compute",
        "Databases",
        "Developer Tools",
        "Multicloud",
        "Identity",
        "Integration",
        "Internet of Things",
        "Management and Governance",
        "Media",
        "Migration",
        "Mobile",
        "Networking",
        "Security",
        "Storage",
        "Web",
        "Other",
    },
}
AI_SUBCATEGORIES = {
    "AI Platforms", "Bots", "Generative AI", "Machine Learning", "Natural Language Processing",
    "Other (AI and Machine Learning)",
}  # fmt: skip
# Numeric format: integer, decimal or E notation; no "+" sign, no thousands separators, no units.
_NUMERIC = re.compile(r"^-?(\d+(\.\d+)?|\.\d+)(E-?\d+)?$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
# Unit format: "<whole quantity> <plural units>" or a plain unit, capitalised.
_UNIT = re.compile(r"^(\d+ )?[A-Z][A-Za-z]*(/[A-Z][a-z]+)?$")


def parse_focus_csv(text: str) -> tuple[list[str], list[dict[str, str | None]]]:
    """Header and rows; an empty cell is null (FOCUS forbids empty strings as values)."""
    reader = csv.DictReader(io.StringIO(text))
    header = list(reader.fieldnames or [])
    rows = [{key: (value if value != "" else None) for key, value in row.items()} for row in reader]
    return header, rows


def _check_header(header: list[str]) -> None:
    assert not MANDATORY - set(header), f"mandatory columns missing: {MANDATORY - set(header)}"
    custom = [index for index, name in enumerate(header) if not name[0].isupper()]
    assert all(header[index].startswith("x_") for index in custom), "custom columns carry the x_ prefix"
    assert custom == list(range(len(header) - len(custom), len(header))), "custom columns come after FOCUS ones"
    assert len(set(header)) == len(header)


def _check_row(row: dict[str, str | None]) -> None:
    for column in NOT_NULL:
        assert row[column] is not None, f"{column} may not be null"
    for column, allowed in ALLOWED.items():
        assert row.get(column) is None or row[column] in allowed, f"{column}={row[column]!r}"
    assert row["ServiceSubcategory"] in AI_SUBCATEGORIES  # its parent must be our ServiceCategory
    assert row["ServiceCategory"] == "AI and Machine Learning"
    assert row["BillingCurrency"] == "USD"
    for column in DECIMAL & row.keys():
        value = row[column]
        assert value is None or _NUMERIC.match(value), f"{column}={value!r} is not FOCUS numeric"
    for column in DATETIME:
        assert _DATETIME.match(row[column] or ""), f"{column}={row[column]!r}"
    assert row["BillingPeriodStart"] <= row["ChargePeriodStart"] < row["ChargePeriodEnd"] <= row["BillingPeriodEnd"]  # type: ignore[operator]
    for quantity, unit in (("PricingQuantity", "PricingUnit"), ("ConsumedQuantity", "ConsumedUnit")):
        assert (row[quantity] is None) == (row[unit] is None), f"{unit} is null exactly when {quantity} is"
        assert row[unit] is None or _UNIT.match(row[unit] or ""), f"{unit}={row[unit]!r}"
    if row["PricingCategory"] is None:
        assert row["ChargeCategory"] not in ("Usage", "Purchase") or row["ChargeClass"] == "Correction"
    quantity = row["PricingQuantity"]
    for unit_price, cost in (("ListUnitPrice", "ListCost"), ("ContractedUnitPrice", "ContractedCost")):
        price = row[unit_price]
        if price is not None and quantity is not None:
            assert Decimal(price) * Decimal(quantity) == Decimal(row[cost] or "x"), f"{cost} = {unit_price} × quantity"
    tags = json.loads(row["Tags"] or "null")
    assert tags is None or (isinstance(tags, dict) and all(isinstance(key, str) for key in tags))


def check_focus_csv(text: str) -> list[dict[str, str | None]]:
    """Assert the FOCUS rules on a whole CSV export; return its rows."""
    header, rows = parse_focus_csv(text)
    _check_header(header)
    for row in rows:
        _check_row(row)
    return rows
