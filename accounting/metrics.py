"""Every Prometheus metric of batchgate, registered against a registry the caller passes in.

Names follow `batchgate_<noun>_<unit>[_total]` in base units (seconds, USD, tokens). Labels are bounded
sets only — tenant, provider, model, status, outcome, route template — never a batch or file id, so the
number of series does not grow with the number of batches. Money becomes float only here, at the edge.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from accounting.records import TOKEN_FIELDS, LedgerRecord
from accounting.tags import OTHER

__all__ = [
    "BUSINESS_LABELS",
    "STATUS_GAUGE",
    "TOKEN_KINDS",
    "Metrics",
    "StatusGaugeCollector",
    "StatusSnapshot",
    "WithoutLabels",
]

STATUS_GAUGE = "batchgate_batches_current"
# Labels whose values are business data (who spends what): series carrying one are for the operator's scrapers only.
# The declared allocation tag keys join them (`Metrics.business_labels`); `value` is a tag budget's tag value.
BUSINESS_LABELS = frozenset({"tenant", "value"})
# Outcome of one upstream call: the label set of batchgate_upstream_requests_total and its latency histogram.
TOKEN_KINDS = tuple(name.removesuffix("_tokens") for name in TOKEN_FIELDS)  # the `kind` label of batch tokens
_MONEY = ("tenant", "provider", "model")
# A batch runs for minutes to a day: hour-scale buckets, up to the 24 h completion window and beyond.
_TURNAROUND_BUCKETS = (60, 300, 900, 1800, 3600, 7200, 14400, 28800, 43200, 86400, 172800)
_COST_BUCKETS = (0.001, 0.01, 0.1, 0.5, 1, 5, 10, 50, 100, 500, 1000)
_SIZE_BUCKETS = (1, 10, 100, 1000, 5000, 10000, 50000, 100000)
_UPSTREAM_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
_HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    """All metric objects. Build one per process (or per test) with the registry to register into.

    With `tag_keys` (the declared cost allocation tags), three more counters carry list cost, cost and
    savings labelled by those keys alone, their values bounded by `accounting.tag_labels` (past the cap:
    `other`). Tags are not multiplied into the tenant/provider/model counters: a scrape renders every
    series, and tenant × route × team × project grows far faster than the tags' own product
    (tests/benchmarks/test_tag_metrics_bench.py measures both).
    """

    def __init__(self, registry: CollectorRegistry, tag_keys: Sequence[str] = ()) -> None:
        self.tag_keys = tuple(tag_keys)
        self.business_labels = BUSINESS_LABELS | frozenset(tag_keys)
        self._settlement(registry)
        self._operations(registry)
        self._tags(registry)

    def _settlement(self, registry: CollectorRegistry) -> None:
        self.batch_tokens = Counter(
            "batchgate_batch_tokens", "Tokens of settled batches.", [*_MONEY, "kind"], registry=registry
        )
        self.batch_list_cost = Counter(
            "batchgate_batch_list_cost_usd",
            "Real-time list price of settled batches' tokens.",
            _MONEY,
            registry=registry,
        )
        self.batch_cost = Counter(
            "batchgate_batch_cost_usd", "Cost of settled batches after the batch discount.", _MONEY, registry=registry
        )
        self.batch_savings = Counter(
            "batchgate_batch_savings_usd", "List price minus batch cost of settled batches.", _MONEY, registry=registry
        )
        self.batches = Counter(
            "batchgate_batches",
            "Batches reaching a terminal status.",
            ["tenant", "provider", "status"],
            registry=registry,
        )
        self.batch_requests = Counter(
            "batchgate_batch_requests", "Requests of settled batches.", [*_MONEY, "outcome"], registry=registry
        )
        self.unpriced_batches = Counter(
            "batchgate_unpriced_batches",
            "Settled batches whose model has no list price.",
            ["provider", "model"],
            registry=registry,
        )
        self.turnaround = Histogram(
            "batchgate_batch_turnaround_seconds",
            "Creation to terminal status.",
            ["provider"],
            buckets=_TURNAROUND_BUCKETS,
            registry=registry,
        )
        self.settled_cost = Histogram(
            "batchgate_settled_batch_cost_usd",
            "Cost per settled batch.",
            ["provider"],
            buckets=_COST_BUCKETS,
            registry=registry,
        )
        self.batch_size = Histogram(
            "batchgate_batch_size_requests",
            "Requests per settled batch.",
            ["provider"],
            buckets=_SIZE_BUCKETS,
            registry=registry,
        )
        self.deferred_lines = Gauge(
            "batchgate_deferred_lines",
            "Lines of batches waiting for an off-peak price window (from Redis: every worker and replica).",
            ["provider"],
            registry=registry,
        )
        self.tenant_budget = Gauge(
            "batchgate_tenant_budget_usd", "Monthly budget of a tenant.", ["tenant"], registry=registry
        )
        self.tenant_month_spend = Gauge(
            "batchgate_tenant_month_spend_usd",
            "Settled spend of a tenant this UTC month.",
            ["tenant"],
            registry=registry,
        )

    def _tags(self, registry: CollectorRegistry) -> None:
        self.tag_budget = Gauge(
            "batchgate_tag_budget_usd", "Monthly budget of a tag value.", ["key", "value"], registry=registry
        )
        self.tag_month_spend = Gauge(
            "batchgate_tag_month_spend_usd",
            "Settled spend of a budgeted tag value this UTC month.",
            ["key", "value"],
            registry=registry,
        )
        self.tag_money: tuple[Counter, ...] = ()
        if self.tag_keys:
            self.tag_money = tuple(
                Counter(f"batchgate_tag_{name}", help_text, self.tag_keys, registry=registry)
                for name, help_text in (
                    ("list_cost_usd", "Real-time list price of settled batches, by cost allocation tag."),
                    ("cost_usd", "Cost of settled batches after the batch discount, by cost allocation tag."),
                    ("savings_usd", "List price minus batch cost of settled batches, by cost allocation tag."),
                )
            )

    def _operations(self, registry: CollectorRegistry) -> None:
        self.upstream_requests = Counter(
            "batchgate_upstream_requests", "Calls to upstream APIs.", ["provider", "outcome"], registry=registry
        )
        self.upstream_duration = Histogram(
            "batchgate_upstream_request_duration_seconds",
            "Upstream call latency.",
            ["provider", "outcome"],
            buckets=_UPSTREAM_BUCKETS,
            registry=registry,
        )
        self.executor_in_flight = Gauge(
            "batchgate_executor_in_flight_requests",
            "Native executor requests in flight.",
            ["provider"],
            registry=registry,
        )
        self.executor_retries = Counter(
            "batchgate_executor_retries", "Native executor retried attempts.", ["provider"], registry=registry
        )
        self.executor_rate_limited = Counter(
            "batchgate_executor_rate_limited",
            "Upstream 429 answers to the native executor.",
            ["provider"],
            registry=registry,
        )
        self.http_duration = Histogram(
            "batchgate_http_request_duration_seconds",
            "API request latency by route template.",
            ["method", "route", "status"],
            buckets=_HTTP_BUCKETS,
            registry=registry,
        )

    def observe_upstream(self, provider: str, outcome: str, seconds: float) -> None:
        """Count one upstream call and its latency; `outcome` is a `providers.base.UpstreamOutcome` (`http_429`
        also counts as rate limited)."""
        self.upstream_requests.labels(provider, outcome).inc()
        self.upstream_duration.labels(provider, outcome).observe(seconds)
        if outcome == "http_429":
            self.executor_rate_limited.labels(provider).inc()

    def observe_http(self, method: str, route: str, status: int, seconds: float) -> None:
        """One API request; `route` is the route template (`/v1/batches/{batch_id}`), never the raw path."""
        self.http_duration.labels(method, route, str(status)).observe(seconds)

    def set_deferred_lines(self, provider: str, lines: int) -> None:
        self.deferred_lines.labels(provider).set(lines)

    def set_tenant_budget(self, tenant: str, budget_usd: Decimal | None, month_spend_usd: Decimal) -> None:
        """Publish a tenant's monthly budget (when it has one) and its settled spend this month."""
        if budget_usd is not None:
            self.tenant_budget.labels(tenant).set(float(budget_usd))
        self.tenant_month_spend.labels(tenant).set(float(month_spend_usd))

    def set_tag_budget(self, key: str, value: str, budget_usd: Decimal, month_spend_usd: Decimal) -> None:
        """Publish a tag value's monthly budget and its settled spend this month."""
        self.tag_budget.labels(key, value).set(float(budget_usd))
        self.tag_month_spend.labels(key, value).set(float(month_spend_usd))

    def record_settlement(
        self, record: LedgerRecord, turnaround_seconds: float, tag_labels: Mapping[str, str] | None = None
    ) -> None:
        """Count one settled batch. Call it only when `Ledger.settle` returned True (exactly once).

        `tag_labels` are the bounded label values of the record's tags (`TagLabels.labels`); a declared key
        missing from them is counted as `other`, so a label never carries an unbounded value.
        """
        if self.tag_money:
            labels = [(tag_labels or {}).get(key, OTHER) for key in self.tag_keys]
            amounts = (record.list_cost_usd, record.batch_cost_usd, max(record.savings_usd, Decimal(0)))
            for counter, amount in zip(self.tag_money, amounts, strict=True):
                counter.labels(*labels).inc(float(amount))
        # Tokens, money and requests go to the provider that served them: a batch that ran on two routes adds
        # to both providers' counters (the record's own figures are the sums of its routes').
        for served in record.routes or (record,):
            money = (record.tenant, served.provider, record.model)
            for kind, name in zip(TOKEN_KINDS, TOKEN_FIELDS, strict=True):
                count = getattr(served, name)
                if count:
                    self.batch_tokens.labels(*money, kind).inc(count)
            self.batch_list_cost.labels(*money).inc(float(served.list_cost_usd))
            self.batch_cost.labels(*money).inc(float(served.batch_cost_usd))
            self.batch_savings.labels(*money).inc(_counted(served.savings_usd))
            self.batch_requests.labels(*money, "completed").inc(served.requests_completed)
            self.batch_requests.labels(*money, "failed").inc(served.requests_failed)
        self.batches.labels(record.tenant, record.provider, record.status).inc()
        if not record.priced:
            self.unpriced_batches.labels(record.provider, record.model).inc()
        self.turnaround.labels(record.provider).observe(turnaround_seconds)
        self.settled_cost.labels(record.provider).observe(float(record.batch_cost_usd))
        self.batch_size.labels(record.provider).observe(record.requests_completed + record.requests_failed)


class StatusSnapshot:
    """The latest batch counts by status, refreshed by a background task, read by scrapes.

    A scrape runs in prometheus_client's synchronous collect(); reading Redis there would block the event
    loop (or need a second sync client). The gateway instead refreshes this snapshot every few seconds
    from its own async task (`update`), and the collector reads it in O(statuses).
    """

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}

    def update(self, counts: Mapping[str, int]) -> None:
        self._counts = dict(counts)  # swap, never mutate: a concurrent scrape sees old or new, not half

    def __call__(self) -> Mapping[str, int]:
        return self._counts


class StatusGaugeCollector(Collector):
    """Yields `batchgate_batches_current{status}`: batches now in each status, from `count_fn` at scrape time.

    Not `batchgate_batches{status}`: that family name is taken by the `batchgate_batches_total` counter
    (prometheus_client refuses the duplicate and OpenMetrics forbids it).
    """

    def __init__(self, count_fn: Callable[[], Mapping[str, int]]) -> None:
        self._count_fn = count_fn

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(STATUS_GAUGE, "Batches currently in each status.", labels=["status"])
        for status, count in sorted(self._count_fn().items()):
            family.add_metric([status], count)
        yield family

    def describe(self) -> Iterator[Metric]:
        # Describing avoids a collect() (and a snapshot read) at registration time.
        yield GaugeMetricFamily(STATUS_GAUGE, "Batches currently in each status.", labels=["status"])


class WithoutLabels:
    """A read-only view of a registry without the series that carry any of `labels` (for public scrapes).

    `prometheus_client.generate_latest(view)` renders it: only `collect()` is needed. A family left with no
    series is left out whole, so its name alone does not hint at what is hidden.
    """

    def __init__(self, registry: CollectorRegistry, labels: frozenset[str] = BUSINESS_LABELS) -> None:
        self._registry = registry
        self._labels = labels

    def collect(self) -> Iterator[Metric]:
        for family in self._registry.collect():
            kept = [sample for sample in family.samples if self._labels.isdisjoint(sample.labels)]
            if len(kept) == len(family.samples):
                yield family
            elif kept:
                view = Metric(family.name, family.documentation, family.type, family.unit)
                view.samples = kept
                yield view


def _counted(savings_usd: Decimal) -> float:
    """What the savings counter adds: a counter cannot decrease, so a batch served dearer than its list price
    (negative savings, time-of-day prices) adds 0; the ledger keeps the negative figure."""
    return float(max(savings_usd, Decimal(0)))
