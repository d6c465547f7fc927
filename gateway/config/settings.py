"""The operator's config file (ARCHITECTURE.md §2.3) as typed, strict msgspec Structs.

Unknown keys are rejected with the key's path in the message, so a typo fails loudly at start-up.
Loading happens only at an entry point (`load_settings`); importing this module reads nothing.
"""

from __future__ import annotations

import functools
import os
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, cast

import msgspec

from accounting.price_windows import PriceWindow
from accounting.prices import DEFAULT_MODEL_PRICES
from accounting.records import RESERVED_TAG_KEYS
from accounting.tags import DEFAULT_LABEL_CAP, TAG_KEY_PATTERN, TAG_VALUE_PATTERN, TagBudget
from gateway.config.unknown_keys import reject_unknown_keys
from gateway.redis.url import RedisUrlError, parse_redis_url
from gateway.validation.endpoints import ALL_ENDPOINTS
from providers.config import NativeSettings, OpenAIBatchSettings, ProviderSettings
from providers.registry import REGISTRY, KindRegistry

__all__ = [
    "ALL_ENDPOINTS",
    "AccountingSettings",
    "BatchesSettings",
    "ConfigError",
    "LimitsSettings",
    "ModelRoute",
    "NativeSettings",
    "OpenAIBatchSettings",
    "ProviderSettings",
    "RedisSettings",
    "ServerSettings",
    "Settings",
    "StorageSettings",
    "Tenant",
    "WebhooksSettings",
    "default_settings",
    "load_settings",
]

PositiveInt = Annotated[int, msgspec.Meta(ge=1)]
Port = Annotated[int, msgspec.Meta(ge=0, le=65535)]
Sha256Hex = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{64}$")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern="^[A-Za-z0-9_.-]+$")]


class ConfigError(Exception):
    """The config file is missing, unreadable or invalid; the message says where and why."""


class _Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class ServerSettings(_Strict):
    host: str = "127.0.0.1"
    port: Port = 8000
    # SHA-256 of the bearer tokens that may scrape tenant-level series from the API port's /metrics (tenant
    # names are business data); without one of them, /metrics there shows operational series only.
    metrics_token_sha256: list[Sha256Hex] = msgspec.field(default_factory=list)


class RedisSettings(_Strict):
    url: str = ""  # empty: embedded mode, batchgate starts and stops its own redis-server


class StorageSettings(_Strict):
    url: str = ""  # empty: <data_dir>/files


class BatchesSettings(_Strict):
    window_seconds: PositiveInt = 86400
    # How long a worker's claim on a batch lives without renewal before another worker takes it over
    # (renewed every third of it): a SIGKILLed worker's batches move to another worker within this.
    lease_seconds: Annotated[float, msgspec.Meta(gt=0)] = 8.0
    # How long a failing worker step is retried before its batch ends with the step's error code; the
    # batch's expires_at bounds it too (gateway/worker/failures.py). Between tries: full jitter
    # (providers/retry.py), ceilings doubling from step_retry_base_seconds up to step_retry_max_seconds.
    step_retry_seconds: Annotated[float, msgspec.Meta(ge=0)] = 600.0
    step_retry_base_seconds: Annotated[float, msgspec.Meta(gt=0)] = 1.0
    step_retry_max_seconds: Annotated[float, msgspec.Meta(gt=0)] = 60.0
    # How often a batch waiting for an off-peak window (`defer_to_off_peak`) is looked at; cancel and expiry
    # wake it at once anyway.
    deferral_check_seconds: Annotated[float, msgspec.Meta(gt=0)] = 60.0


class LimitsSettings(_Strict):
    """Per-tenant admission limits, enforced through Redis so they hold across every API replica."""

    # Uploads one tenant may stream at once; more answer 429 with Retry-After.
    max_concurrent_uploads_per_tenant: PositiveInt = 4
    # Non-terminal batches one tenant may have; creating more answers 429 with Retry-After.
    max_batches_in_flight_per_tenant: PositiveInt = 100


class WebhooksSettings(_Strict):
    """Webhook delivery (`gateway.webhooks`): the SSRF exceptions and the retry schedule."""

    # Hosts a tenant's webhook URL may name although they resolve to loopback/private/link-local addresses;
    # plain http is allowed for them too. Compared with the URL's host name, case-insensitively.
    allowed_hosts: list[str] = msgspec.field(default_factory=list)
    # Between attempts: full jitter (providers/retry.py), ceilings doubling from first_retry_seconds up to
    # max_retry_seconds.
    first_retry_seconds: Annotated[float, msgspec.Meta(gt=0)] = 5.0
    max_retry_seconds: Annotated[float, msgspec.Meta(gt=0)] = 3600.0
    # A delivery is retried for at least this long after the event (OpenAI's contract: at least 24 hours).
    retry_for_seconds: Annotated[int, msgspec.Meta(ge=86400)] = 3 * 86400
    # One attempt's whole HTTP exchange; a slower receiver counts as a failed attempt.
    timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=60)] = 10.0
    # Attempts in flight per worker process.
    max_concurrency: PositiveInt = 16
    max_endpoints_per_tenant: PositiveInt = 20


TagKey = Annotated[str, msgspec.Meta(pattern=TAG_KEY_PATTERN)]
TagValue = Annotated[str, msgspec.Meta(pattern=TAG_VALUE_PATTERN)]


class TagBudgetSettings(_Strict):
    key: TagKey
    value: TagValue
    monthly_usd: Decimal


class AccountingSettings(_Strict):
    """Cost allocation tags (accounting.tags): keys read from each batch's metadata, budgets per tag value."""

    tag_keys: list[TagKey] = msgspec.field(default_factory=list)
    # Distinct values per tag key that get a metric label of their own; later values are counted as `other`.
    tag_label_cap: PositiveInt = DEFAULT_LABEL_CAP
    tag_budgets: list[TagBudgetSettings] = msgspec.field(default_factory=list)

    def budgets(self) -> list[TagBudget]:
        return [TagBudget(key=b.key, value=b.value, monthly_usd=b.monthly_usd) for b in self.tag_budgets]


class Tenant(_Strict):
    name: Name
    api_keys: list[str] = msgspec.field(default_factory=list)
    api_key_sha256: list[Sha256Hex] = msgspec.field(default_factory=list)
    # A file holding one more key (e.g. generated by the compose stack); `serve` reads it at start-up.
    api_key_file: str | None = None
    admin: bool = False
    monthly_budget_usd: Decimal | None = None


class ModelRoute(_Strict):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    provider: str
    upstream_model: str | None = None
    input_usd_per_mtok: Decimal | None = None
    cached_input_usd_per_mtok: Decimal | None = None
    output_usd_per_mtok: Decimal | None = None
    # Optional: lines asking for more output tokens fail validation (`max_tokens_too_large`).
    max_output_tokens: PositiveInt | None = None
    # Optional time-of-day prices (accounting/price_windows.py); outside every window the prices above apply.
    price_windows: list[PriceWindow] = msgspec.field(default_factory=list)

    @property
    def upstream_name(self) -> str:
        return self.upstream_model or self.name


class Settings(_Strict):
    data_dir: str = ".batchgate"
    server: ServerSettings = msgspec.field(default_factory=ServerSettings)
    redis: RedisSettings = msgspec.field(default_factory=RedisSettings)
    storage: StorageSettings = msgspec.field(default_factory=StorageSettings)
    batches: BatchesSettings = msgspec.field(default_factory=BatchesSettings)
    limits: LimitsSettings = msgspec.field(default_factory=LimitsSettings)
    tenants: list[Tenant] = msgspec.field(default_factory=list)
    providers: dict[str, ProviderSettings] = msgspec.field(default_factory=dict)
    models: list[ModelRoute] = msgspec.field(default_factory=list)
    webhooks: WebhooksSettings = msgspec.field(default_factory=WebhooksSettings)
    accounting: AccountingSettings = msgspec.field(default_factory=AccountingSettings)

    def __post_init__(self) -> None:
        _check_references(self)
        _check_accounting(self.accounting)

    def routes_for(self, model: str) -> list[ModelRoute]:
        """The routes of `model` in order of preference: its `[[models]]` entries as listed (maybe none)."""
        return [route for route in self.models if route.name == model]

    def route_for(self, model: str) -> ModelRoute | None:
        """The first (preferred) route of `model`, or None when no provider serves it."""
        for route in self.models:
            if route.name == model:
                return route
        return None

    def max_output_tokens(self, model: str) -> int | None:
        """The most output tokens a line for `model` may ask for (None: no cap): the smallest cap over its
        routes, since a line may run on any of them."""
        caps = [route.max_output_tokens for route in self.routes_for(model) if route.max_output_tokens is not None]
        return min(caps) if caps else None

    def serves(self, model: str, endpoint: str) -> bool:
        """Does any route of `model` go to a provider that supports `endpoint`?"""
        return any(self.providers[route.provider].serves_endpoint(endpoint) for route in self.routes_for(model))

    @property
    def storage_dir(self) -> Path:
        return Path(self.data_dir) / "files"


def _require(condition: bool, message: str, path: str) -> None:
    if not condition:
        raise msgspec.ValidationError(f"{message} - at `{path}`")


def _check_references(settings: Settings) -> None:
    """Cross-field rules msgspec's per-field constraints cannot say (Decimal takes no bounds there)."""
    for name, provider in settings.providers.items():
        _require(
            0 <= provider.batch_discount <= 1, "expected a fraction from 0 to 1", f"$.providers.{name}.batch_discount"
        )
    # The same model name may appear again (its next route), but not twice through one provider.
    seen_routes: set[tuple[str, str]] = set()
    for index, route in enumerate(settings.models):
        path = f"$.models[{index}]"
        _require(
            route.provider in settings.providers, f"provider {route.provider!r} is not defined", f"{path}.provider"
        )
        key = (route.name, route.provider)
        _require(key not in seen_routes, f"model {route.name!r} is routed to {route.provider!r} twice", f"{path}")
        seen_routes.add(key)
        prices = (route.input_usd_per_mtok, route.cached_input_usd_per_mtok, route.output_usd_per_mtok)
        _require(all(price is None or price >= 0 for price in prices), "prices must be >= 0", path)
    seen_tenants: set[str] = set()
    for index, tenant in enumerate(settings.tenants):
        path = f"$.tenants[{index}]"
        _require(tenant.name not in seen_tenants, f"tenant {tenant.name!r} is listed twice", f"{path}.name")
        seen_tenants.add(tenant.name)
        budget = tenant.monthly_budget_usd
        _require(budget is None or budget >= 0, "expected a budget >= 0", f"{path}.monthly_budget_usd")


def _check_accounting(accounting: AccountingSettings) -> None:
    keys = accounting.tag_keys
    for index, key in enumerate(keys):
        path = f"$.accounting.tag_keys[{index}]"
        _require(key not in RESERVED_TAG_KEYS, f"{key!r} is a ledger field or metric label name", path)
        _require(keys.index(key) == index, f"tag key {key!r} is listed twice", path)
    seen: set[tuple[str, str]] = set()
    for index, budget in enumerate(accounting.tag_budgets):
        path = f"$.accounting.tag_budgets[{index}]"
        _require(budget.key in keys, f"{budget.key!r} is not one of accounting.tag_keys", f"{path}.key")
        _require((budget.key, budget.value) not in seen, "this tag value has a budget already", f"{path}.value")
        _require(budget.monthly_usd >= 0, "expected a budget >= 0", f"{path}.monthly_usd")
        seen.add((budget.key, budget.value))


def default_settings() -> Settings:
    """Settings used when no config file is given: DeepSeek and DeepInfra with dated default prices."""
    providers: dict[str, ProviderSettings] = {
        "deepseek": OpenAIBatchSettings(
            base_url="https://api.deepseek.com/v1",
            api_key_env="DEEPSEEK_API_KEY",
            batch_discount=Decimal("0.5"),
            endpoints=["/v1/chat/completions"],
        ),
        "deepinfra": OpenAIBatchSettings(
            base_url="https://api.deepinfra.com/v1/openai",
            api_key_env="DEEPINFRA_API_KEY",
            batch_discount=Decimal("0.2"),
            output_purpose="batch-output",
        ),
        # DeepSeek's real-time API, run by the native executor: the fallback route of the DeepSeek models,
        # waiting for off-peak prices when the batch's window allows.
        "deepseek-realtime": NativeSettings(
            base_url="https://api.deepseek.com/v1",
            api_key_env="DEEPSEEK_API_KEY",
            endpoints=["/v1/chat/completions"],
            defer_to_off_peak=True,
        ),
    }
    models = [
        ModelRoute(
            name=price.model,
            provider=price.provider,
            input_usd_per_mtok=price.input_usd_per_mtok,
            cached_input_usd_per_mtok=price.cached_input_usd_per_mtok,
            output_usd_per_mtok=price.output_usd_per_mtok,
            upstream_model=price.upstream_model,
            price_windows=list(price.price_windows),
        )
        for price in DEFAULT_MODEL_PRICES
    ]
    return Settings(providers=providers, models=models)


def load_settings(
    path: str | os.PathLike[str] | None = None,
    environ: dict[str, str] | None = None,
    *,
    kinds: KindRegistry = REGISTRY,
) -> Settings:
    """Load the config named by `path`, else by BATCHGATE_CONFIG, else the defaults; REDIS_URL overrides.
    `kinds`: the provider kinds its `[providers.NAME]` tables may name."""
    env = os.environ if environ is None else environ
    config_path = path or env.get("BATCHGATE_CONFIG") or None
    settings = _read_file(Path(config_path), _settings_type(kinds)) if config_path else default_settings()
    redis_url = env.get("REDIS_URL")
    if redis_url:
        settings = msgspec.structs.replace(settings, redis=RedisSettings(url=redis_url))
    _check_redis_url(settings.redis.url)
    return settings


def _check_redis_url(url: str) -> None:
    """A bad `redis.url` fails here, at start-up, with the reason (never the URL: it may hold a password)."""
    if not url:
        return  # embedded mode
    try:
        parse_redis_url(url)
    except RedisUrlError as exc:
        raise ConfigError(f"redis.url (or REDIS_URL): {exc}") from None


@functools.cache
def _settings_type(kinds: KindRegistry) -> type[Settings]:
    """`Settings` whose provider tables decode as the union of `kinds` (the built-in registry's: `Settings`)."""
    if kinds is REGISTRY:
        return Settings
    union: Any = kinds.settings_union
    providers: tuple[str, Any, Any] = ("providers", dict[str, union], msgspec.field(default_factory=dict))
    made = msgspec.defstruct("Settings", [providers], bases=(Settings,), kw_only=True, forbid_unknown_fields=True)
    return cast(type[Settings], made)


def _read_file(path: Path, settings_type: type[Settings]) -> Settings:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {str(path)!r} cannot be read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {str(path)!r} is not valid TOML: {exc}") from None
    try:
        reject_unknown_keys(raw, msgspec.inspect.type_info(settings_type), "")
        return msgspec.convert(raw, settings_type)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"config file {str(path)!r}: {exc}") from None
