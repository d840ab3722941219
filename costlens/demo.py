"""The zero-setup demo: an org "Acme AI" with ~30 days of realistic, deterministic LLM traffic.

Everything goes through the real code paths: events are generated as API.md §1 dicts and stored
by `ingest.services.events_ingest` in 1,000-event batches, then the rollups run. The traffic tells
a few stories on purpose (docs/decisions.md, "Demo data"):

- cheap models take simple work, frontier models the hard part, with fallbacks on low confidence,
  errors and timeouts, shadow evaluation of a candidate model, prompt caching and reasoning tokens;
- a handful of customers cost more than they pay (negative margin);
- a negotiated Claude Sonnet discount starts 6 days ago (a price change);
- `support-chat` drifts off its 70/30 target split for two days, 4 to 2 days ago;
- a Gemini Flash-Lite outage 9 days ago pushes `doc-summarizer` onto its fallback chain;
- one model (`mistral-medium-3`) has no price, so it shows as unpriced.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from costlens.accounts.models import ApiKey, Organization
from costlens.accounts.services import api_key_create, organization_create, user_create
from costlens.alerts.rules import validate_rule
from costlens.alerts.services import alert_rule_create, rules_evaluate_all
from costlens.customers.models import Customer, RevenueEntry
from costlens.money import nanos_to_decimal, usd_to_nanos
from costlens.pricing.services import price_override_create
from costlens.usage.models import Event
from costlens.usage.rollup import rollup_org
from ingest.services import events_ingest, known_customers, known_routes
from routing.services import RouteConfig, normalize_weights, route_upsert

ORG_NAME = "Acme AI"
ORG_SLUG = "acme-ai"
ADMIN_EMAIL = "admin@acme.test"
ADMIN_PASSWORD = "costlens-demo"
API_KEY_NAME = "demo"
BATCH_SIZE = 1000

DEFAULT_DAYS = 30
DEFAULT_CUSTOMERS = 300
DEFAULT_EVENTS = 150_000
DEFAULT_SEED = 20260401

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@dataclass(frozen=True)
class ModelInfo:
    provider: str
    quality: float  # mean judge score; cheaper models score slightly lower
    latency_ms: float  # median time to a 300-token answer
    raw_names: tuple[str, ...] = ()  # other spellings clients send (normalised on ingest)


MODELS: dict[str, ModelInfo] = {
    "gpt-5-nano": ModelInfo("openai", 0.78, 350),
    "gemini-2-5-flash-lite": ModelInfo("google", 0.80, 420, ("google/gemini-2.5-flash-lite",)),
    "gpt-4o-mini": ModelInfo("openai", 0.81, 600, ("openai/gpt-4o-mini-2024-07-18",)),
    "deepseek-v3-2": ModelInfo("deepseek", 0.84, 1400, ("deepseek/deepseek-chat",)),
    "claude-haiku-4-5": ModelInfo("anthropic", 0.85, 900, ("anthropic/claude-haiku-4-5",)),
    "mistral-medium-3": ModelInfo("mistral", 0.85, 1100),  # deliberately not in the price catalog
    "gpt-4o": ModelInfo("openai", 0.88, 1800, ("openai/gpt-4o-2024-08-06",)),
    "gemini-2-5-pro": ModelInfo("google", 0.89, 3000),
    "claude-sonnet-4-6": ModelInfo("anthropic", 0.91, 2600, ("anthropic/claude-sonnet-4-6",)),
    "claude-opus-4-6": ModelInfo("anthropic", 0.94, 5200),
}
UNPRICED_MODEL = "mistral-medium-3"
CACHING_PROVIDERS = {"anthropic", "openai", "deepseek", "google"}
REASONING_MODELS = {"claude-sonnet-4-6", "claude-opus-4-6", "gemini-2-5-pro"}


@dataclass(frozen=True)
class Feature:
    input_median: int
    output_median: int
    cache_share: float  # share of calls that read a cached prompt prefix
    reasoning: bool  # frontier models think on this task
    route: str | None  # None: the feature calls one model directly, unrouted
    revenue_usd: Decimal  # price per request for usage-billed customers


FEATURES: dict[str, Feature] = {
    "chat": Feature(2400, 320, 0.65, False, "support-chat", Decimal("0.012")),
    "summarize": Feature(6000, 420, 0.20, False, "doc-summarizer", Decimal("0.030")),
    "extract": Feature(1800, 240, 0.30, False, "field-extractor", Decimal("0.010")),
    "classify": Feature(350, 8, 0.10, False, "intent-classifier", Decimal("0.001")),
    "code-review": Feature(14000, 1100, 0.70, True, "code-review", Decimal("0.090")),
    "search": Feature(3200, 300, 0.25, False, "search-answer", Decimal("0.020")),
    "translate": Feature(800, 820, 0.0, False, None, Decimal("0.010")),
}
UNROUTED_MODEL = "gpt-4o-mini"


@dataclass(frozen=True)
class RouteSpec:
    target: dict[str, int]  # weights; stored normalised to shares
    baseline: str | None  # None: the org's baseline (claude-sonnet-4-6)
    chain: tuple[str, ...]
    fallback_rate: float  # share of requests that escalate at least once
    shadow_model: str | None = None  # candidate evaluated on ~3% of requests


ROUTES: dict[str, RouteSpec] = {
    "support-chat": RouteSpec(
        {"claude-haiku-4-5": 7, "claude-sonnet-4-6": 3},
        "claude-sonnet-4-6",
        ("claude-haiku-4-5", "claude-sonnet-4-6", "claude-opus-4-6"),
        0.10,
        "deepseek-v3-2",
    ),
    "doc-summarizer": RouteSpec(
        {"gemini-2-5-flash-lite": 6, "claude-haiku-4-5": 3, "gpt-4o": 1},
        "gpt-4o",
        ("gemini-2-5-flash-lite", "claude-haiku-4-5", "gpt-4o"),
        0.07,
        "gpt-5-nano",
    ),
    "field-extractor": RouteSpec(
        {"gpt-4o-mini": 8, "deepseek-v3-2": 2},
        "gpt-4o",
        ("gpt-4o-mini", "gpt-4o"),
        0.08,
        "gemini-2-5-flash-lite",
    ),
    "intent-classifier": RouteSpec(
        {"gpt-5-nano": 85, "gemini-2-5-flash-lite": 15},
        "gpt-4o",
        ("gpt-5-nano", "gpt-4o-mini", "gpt-4o"),
        0.12,
    ),
    "code-review": RouteSpec(
        {"deepseek-v3-2": 3, "claude-sonnet-4-6": 5, "claude-opus-4-6": 2},
        "claude-opus-4-6",
        ("deepseek-v3-2", "claude-sonnet-4-6", "claude-opus-4-6"),
        0.13,
        "gemini-2-5-pro",
    ),
    "search-answer": RouteSpec(
        {"deepseek-v3-2": 5, UNPRICED_MODEL: 2, "gemini-2-5-pro": 3},
        None,
        ("deepseek-v3-2", "gemini-2-5-pro"),
        0.09,
    ),
}
SHADOW_SAMPLE = 0.045  # of requests on routes that evaluate a candidate: ~3% of all requests
THIRD_ATTEMPT_RATE = 0.10  # of fallbacks, a second escalation
UNATTRIBUTED_RATE = 0.02  # internal batch jobs without a customer
BASE_ERROR_RATE = 0.006  # errors nobody retried
FALLBACK_REASONS = (
    ("low_confidence", 60),
    ("quality", 15),
    ("error", 12),
    ("timeout", 8),
    ("rate_limited", 5),
)

# Drift: after a deploy, support-chat's router sends most traffic to Sonnet for two days.
DRIFT_ROUTE = "support-chat"
DRIFT_SPLIT = {"claude-haiku-4-5": 4, "claude-sonnet-4-6": 6}
DRIFT_FALLBACK_RATE = 0.18
DRIFT_START, DRIFT_END = 4 * DAY, 2 * DAY  # before "now"
# Outage: Gemini Flash-Lite errors for three hours; doc-summarizer falls back.
OUTAGE_MODEL = "gemini-2-5-flash-lite"
OUTAGE_START, OUTAGE_HOURS = 9 * DAY, 3
# Price change: a committed-use discount on Claude Sonnet starts 6 days ago.
PRICE_CHANGE_MODEL = "claude-sonnet-4-6"
PRICE_CHANGE_DISCOUNT_PCT = Decimal("20")
PRICE_CHANGE_AGO = 6 * DAY

# Alert rules a finance or platform team would set up; replayed at two instants so the incidents
# page has history: drift and spend incidents that opened days ago and resolved, margins still open.
ALERT_RULES: tuple[dict, ...] = (
    {
        "name": "Customer losing money",
        "kind": "negative_margin",
        "window": "7d",
        "threshold": "0",
        "group_by": "customer",
        "min_cost_usd": "5.00",
    },
    {"name": "Route over its fallback budget", "kind": "fallback_rate", "window": "24h", "group_by": "route"},
    {
        "name": "Routing split drift",
        "kind": "split_drift",
        "window": "24h",
        "threshold": "0.2",
        "group_by": "route",
    },
    {
        "name": "Customer spend spike",
        "kind": "spend_spike",
        "window": "24h",
        "threshold": "3",
        "group_by": "customer",
        "min_cost_usd": "5.00",
    },
    {"name": "Model without a price", "kind": "unpriced_model", "window": "7d", "group_by": "model"},
    {
        "name": "Code review over $0.10 a request",
        "kind": "cost_per_request",
        "window": "24h",
        "threshold": "0.10",
        "group_by": "feature",
        "filters": {"feature": ["code-review"]},
    },
)
ALERT_REPLAY_AGO = (3 * DAY, timedelta(0))

INDUSTRIES: dict[str, dict[str, int]] = {
    "devtools": {"code-review": 55, "chat": 15, "search": 20, "classify": 10},
    "legal": {"summarize": 40, "extract": 30, "search": 20, "chat": 10},
    "ecommerce": {"chat": 40, "classify": 30, "search": 20, "translate": 10},
    "fintech": {"extract": 35, "classify": 25, "summarize": 20, "chat": 10, "search": 10},
    "health": {"summarize": 35, "extract": 20, "chat": 25, "search": 10, "translate": 10},
    "media": {"summarize": 25, "translate": 25, "chat": 20, "classify": 15, "search": 15},
}
NAME_FIRST = [
    "Acorn",
    "Aster",
    "Atlas",
    "Beacon",
    "Birch",
    "Blue",
    "Bright",
    "Cedar",
    "Cobalt",
    "Copper",
    "Crane",
    "Delta",
    "Ember",
    "Falcon",
    "Fern",
    "Granite",
    "Harbor",
    "Indigo",
    "Juniper",
    "Kestrel",
    "Lumen",
    "Maple",
    "Meridian",
    "Nimbus",
    "North",
    "Oak",
    "Onyx",
    "Orbit",
    "Pine",
    "Quartz",
    "Raven",
    "Ridge",
    "Sable",
    "Silver",
    "Spruce",
    "Summit",
    "Tide",
    "Vertex",
    "Willow",
    "Zephyr",
]
NAME_SECOND = [
    "Analytics",
    "Apps",
    "Bio",
    "Cloud",
    "Commerce",
    "Data",
    "Dynamics",
    "Finance",
    "Forge",
    "Health",
    "Labs",
    "Legal",
    "Logic",
    "Media",
    "Metrics",
    "Networks",
    "Robotics",
    "Systems",
    "Works",
]
PLANS = (("free", 45), ("pro", 40), ("enterprise", 15))
SEGMENT_FOR_PLAN = {
    "free": ("self-serve",),
    "pro": ("startup", "smb"),
    "enterprise": ("mid-market", "enterprise"),
}
PRO_PRICE_USD = Decimal("29")
WHALE_SHARE = 0.025  # of all traffic, for each Pro power user
# Enterprise contracts are priced at a markup over the customer's LLM cost; underwater ones below it.
CONTRACT_MARKUP = (1.8, 3.5)
UNDERWATER_MARKUP = (0.45, 0.75)


@dataclass
class DemoCustomer:
    external_id: str
    name: str
    plan: str
    segment: str
    industry: str
    billing: str  # "none" | "subscription" | "usage" | "contract"
    markup: float  # contract price over cost (contracts only)
    weight: float
    features: tuple[list[str], list[int]]


@dataclass
class DemoAccess:
    org: Organization
    email: str
    password: str
    api_key: str


@dataclass
class DemoSeedResult:
    access: DemoAccess
    customers: int
    requests: int
    events: int
    accepted: int
    duplicates: int
    rejected: int
    buckets: int
    start: datetime
    end: datetime
    seconds: dict[str, float]  # wall time per phase: ingest (incl. generation), rollup, alerts


def demo_org_get() -> Organization | None:
    return Organization.objects.filter(slug=ORG_SLUG).first()


def demo_org_delete() -> None:
    """Drop the demo org and everything under it (events, rollups, customers, keys)."""
    Organization.objects.filter(slug=ORG_SLUG).delete()
    known_customers.clear()
    known_routes.clear()


@transaction.atomic
def demo_access_grant(*, org: Organization, password: str = ADMIN_PASSWORD) -> DemoAccess:
    """(Re)set the admin's password and issue a fresh demo API key, revoking earlier demo keys.

    Keys are stored only as hashes, so a restarted demo cannot print the old key; it prints a new one.
    """
    user_create(email=ADMIN_EMAIL, org=org, password=password, admin=True)
    ApiKey.objects.filter(org=org, name=API_KEY_NAME, revoked_at=None).update(revoked_at=timezone.now())
    created = api_key_create(org=org, name=API_KEY_NAME)
    return DemoAccess(org=org, email=ADMIN_EMAIL, password=password, api_key=created.raw_key)


def _pick(rng: random.Random, weighted: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([k for k, _ in weighted], weights=[w for _, w in weighted])[0]


def demo_customers_build(rng: random.Random, count: int) -> list[DemoCustomer]:
    """Customers with names, plans, segments and a heavy-tailed share of traffic.

    Pro "power users" on the flat plan use far more than they pay for, and a few enterprise
    contracts are priced below what the customer costs: their margin is negative.
    """
    names = [f"{a} {b}" for a in NAME_FIRST for b in NAME_SECOND]
    rng.shuffle(names)
    customers = []
    for i in range(count):
        plan = _pick(rng, PLANS)
        industry = rng.choice(list(INDUSTRIES))
        weight = rng.lognormvariate(0, 1.0) * {"free": 0.2, "pro": 1.0, "enterprise": 4.0}[plan]
        billing = {"free": "none", "enterprise": "contract"}.get(plan) or (
            "usage" if rng.random() < 0.3 else "subscription"
        )
        mix = INDUSTRIES[industry]
        customers.append(
            DemoCustomer(
                external_id=f"cus_{i + 1:04d}",
                name=names[i % len(names)] + ("" if i < len(names) else f" {i // len(names) + 1}"),
                plan=plan,
                segment=rng.choice(SEGMENT_FOR_PLAN[plan]),
                industry=industry,
                billing=billing,
                markup=rng.uniform(*CONTRACT_MARKUP),
                weight=weight,
                features=(list(mix), list(mix.values())),
            )
        )
    subscribers = [c for c in customers if c.billing == "subscription"]
    total_weight = sum(c.weight for c in customers)
    for whale in subscribers[: max(1, len(subscribers) // 25)]:
        whale.industry = "devtools"
        whale.features = (list(INDUSTRIES["devtools"]), list(INDUSTRIES["devtools"].values()))
        whale.weight = WHALE_SHARE * total_weight
    contracts = [c for c in customers if c.billing == "contract"]
    for underwater in contracts[: max(1, len(contracts) // 12)]:
        underwater.markup = rng.uniform(*UNDERWATER_MARKUP)
        underwater.weight *= 2
    return customers


def _month_start(ts: datetime) -> datetime:
    return ts.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _next_month(ts: datetime) -> datetime:
    return (_month_start(ts) + timedelta(days=32)).replace(day=1)


def _round_nicely(usd: Decimal) -> Decimal:
    """Contract amounts people would write: $2,350 rather than $2,347.18."""
    step = Decimal(50) if usd >= 1000 else Decimal(10) if usd >= 100 else Decimal(1)
    return max(step, (usd / step).quantize(Decimal(1)) * step)


def demo_org_create(*, customers: list[DemoCustomer], now: datetime) -> Organization:
    """The org, its routes, its customers and a negotiated price change."""
    org = organization_create(name=ORG_NAME, slug=ORG_SLUG)
    for name, spec in ROUTES.items():
        route_upsert(
            org=org,
            name=name,
            config=RouteConfig(
                target_split=normalize_weights({m: Decimal(w) for m, w in spec.target.items()}),
                baseline_model=spec.baseline,
                fallback_chain=list(spec.chain),
                fallback_budget=Decimal(str(spec.fallback_rate + 0.03)),
            ),
        )
    Customer.objects.bulk_create(
        [
            Customer(
                org=org,
                external_id=c.external_id,
                name=c.name,
                plan=c.plan,
                segment=c.segment,
                metadata={"industry": c.industry, "billing": c.billing},
            )
            for c in customers
        ]
    )
    change_at = (now - PRICE_CHANGE_AGO).replace(hour=0, minute=0, second=0, microsecond=0)
    price_override_create(
        org=org,
        model=PRICE_CHANGE_MODEL,
        effective_from=change_at,
        discount_pct=PRICE_CHANGE_DISCOUNT_PCT,
        note="Committed-use discount negotiated with Anthropic",
    )
    return org


def demo_revenue_create(
    *, org: Organization, customers: list[DemoCustomer], start: datetime, end: datetime
) -> int:
    """Monthly recurring revenue: flat Pro subscriptions, and enterprise contracts priced off usage.

    Contracts are sized from what each customer actually cost over the seeded window (scaled to a
    30-day month) times its markup, so margins look like a real book of business at any demo size.
    """
    window_days = Decimal((end - start).total_seconds()) / 86_400
    cost_nanos = dict(
        Event.objects.filter(org=org)
        .values("customer")
        .annotate(c=Sum("cost_nanos"))
        .values_list("customer", "c")
    )
    by_ext = dict(Customer.objects.filter(org=org).values_list("external_id", "id"))

    def monthly_cost(c: DemoCustomer) -> Decimal:
        return nanos_to_decimal(cost_nanos.get(c.external_id, 0)) * 30 / window_days

    entries = []
    for c in customers:
        if c.billing == "subscription":
            monthly = PRO_PRICE_USD
            description = "Pro plan"
        elif c.billing == "contract":
            monthly = _round_nicely(monthly_cost(c) * Decimal(str(round(c.markup, 2))))
            description = "Enterprise contract"
        else:
            continue
        period = _month_start(start)
        while period < end:
            entries.append(
                RevenueEntry(
                    org=org,
                    customer_id=by_ext[c.external_id],
                    amount_nanos=usd_to_nanos(monthly),
                    period_start=period,
                    period_end=_next_month(period),
                    description=f"{description}, {period:%B %Y}",
                )
            )
            period = _next_month(period)
    RevenueEntry.objects.bulk_create(entries)
    return len(entries)


def demo_alert_rules_create(*, org: Organization, start: datetime, now: datetime) -> int:
    """Create the demo's alert rules and evaluate them as of a few past instants and now."""
    for raw in ALERT_RULES:
        alert_rule_create(org=org, values=validate_rule({**raw, "recipients": [ADMIN_EMAIL]}))
    for ago in ALERT_REPLAY_AGO:
        if now - ago > start + DAY:
            rules_evaluate_all(org=org, now=now - ago)
    return len(ALERT_RULES)


def _traffic_weight(hour: datetime, start: datetime, days: int) -> float:
    """Diurnal (peak ~15:00 UTC, US morning + EU afternoon), weekly (quiet weekends), slow growth."""
    distance = min(abs(hour.hour - 15), 24 - abs(hour.hour - 15))
    diurnal = 0.3 + 0.7 * math.exp(-(distance**2) / 32)
    weekly = 0.55 if hour.weekday() >= 5 else 1.0
    growth = 1.0 + 0.25 * (hour - start).total_seconds() / (days * 86_400)
    return diurnal * weekly * growth


def _tokens(rng: random.Random, median: int) -> int:
    return max(1, int(rng.lognormvariate(math.log(median), 0.55)))


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TrafficGenerator:
    """Yields API.md §1 event dicts in time order, one logical request (and its attempts) at a time."""

    def __init__(
        self,
        *,
        rng: random.Random,
        customers: list[DemoCustomer],
        start: datetime,
        now: datetime,
        events: int,
    ):
        self.rng = rng
        self.customers = customers
        self.start = start
        self.now = now
        self.events = events
        self.customer_cum = []
        total = 0.0
        for c in customers:
            total += c.weight
            self.customer_cum.append(total)
        self.drift = (now - DRIFT_START, now - DRIFT_END)
        outage_start = (now - OUTAGE_START).replace(minute=0, second=0, microsecond=0)
        self.outage = (outage_start, outage_start + OUTAGE_HOURS * HOUR)
        self.requests = 0

    def hourly_requests(self) -> list[tuple[datetime, float, int]]:
        """(hour, seconds of it that are in the past, request count) for every hour up to now."""
        hours = []
        hour = self.start
        while hour < self.now:
            span = min(3600.0, (self.now - hour).total_seconds())
            hours.append(
                (
                    hour,
                    span,
                    _traffic_weight(hour, self.start, max(1, (self.now - self.start).days)) * span / 3600,
                )
            )
            hour += HOUR
        # Every request makes ~1.14 events: fallbacks, second escalations and shadow calls.
        per_request = 1 + 0.10 * (1 + THIRD_ATTEMPT_RATE) + 0.03
        scale = self.events / per_request / sum(w for _, _, w in hours)
        plan = []
        for hour, span, w in hours:
            expected = w * scale
            n = int(expected) + (1 if self.rng.random() < expected - int(expected) else 0)
            plan.append((hour, span, n))
        return plan

    def __iter__(self) -> Iterator[dict]:
        for hour, span, n in self.hourly_requests():
            offsets = sorted(self.rng.uniform(0, span - 1) for _ in range(n))
            for offset in offsets:
                yield from self.request(hour + timedelta(seconds=offset))

    def request(self, ts: datetime) -> list[dict]:
        rng = self.rng
        self.requests += 1
        request_id = f"req_{self.requests:08d}"
        if rng.random() < UNATTRIBUTED_RATE:
            customer = None
            feature = rng.choice(["summarize", "classify", "extract"])
        else:
            index = _bisect(self.customer_cum, rng.random() * self.customer_cum[-1])
            customer = self.customers[min(len(self.customers) - 1, index)]
            names, weights = customer.features
            feature = rng.choices(names, weights=weights)[0]
        spec = FEATURES[feature]
        route = ROUTES.get(spec.route) if spec.route else None
        in_drift = spec.route == DRIFT_ROUTE and self.drift[0] <= ts < self.drift[1]
        if route is None:
            model = UNROUTED_MODEL
        else:
            split = DRIFT_SPLIT if in_drift else route.target
            model = rng.choices(list(split), weights=list(split.values()))[0]
        input_tokens = _tokens(rng, spec.input_median)
        output_tokens = _tokens(rng, spec.output_median)
        cached_prompt = rng.random() < spec.cache_share
        common = {"feature": feature, "request_id": request_id}
        if customer:
            common["customer_id"] = customer.external_id
        if spec.route:
            common["route"] = spec.route

        attempts = 1
        reasons: list[str] = []
        if route is not None:
            in_outage = model == OUTAGE_MODEL and self.outage[0] <= ts < self.outage[1]
            rate = DRIFT_FALLBACK_RATE if in_drift else route.fallback_rate
            if in_outage and rng.random() < 0.7:
                reasons = ["error"]
            elif rng.random() < rate:
                reasons = [_pick(rng, FALLBACK_REASONS)]
            if reasons and rng.random() < THIRD_ATTEMPT_RATE:
                reasons.append(rng.choice(["low_confidence", "quality", "error"]))
            attempts = 1 + len(reasons)

        events = []
        attempt_ts = ts
        for attempt in range(1, attempts + 1):
            event = self.call(
                ts=attempt_ts,
                model=model,
                feature=spec,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                cached_prompt=cached_prompt,
                outcome=reasons[attempt - 1] if attempt < attempts else "ok",
                attempt=attempt,
            )
            event.update(common)
            event["event_id"] = f"{request_id}-a{attempt}"
            if attempt > 1:
                event["attempt"] = attempt
                event["fallback_reason"] = reasons[attempt - 2]
            elif customer and customer.billing == "usage":
                # Usage-based pricing: the request earns its price once, on its first attempt.
                event["revenue_usd"] = str(spec.revenue_usd)
            events.append(event)
            attempt_ts += timedelta(milliseconds=event["latency_ms"] + 20)
            model = _next_in_chain(route, model)
        if route is not None and route.shadow_model and rng.random() < SHADOW_SAMPLE:
            shadow = self.call(
                ts=ts + timedelta(milliseconds=5),
                model=route.shadow_model,
                feature=spec,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                cached_prompt=False,
                outcome="ok",
                attempt=1,
                judged=True,
            )
            shadow.update(common)
            shadow["event_id"] = f"{request_id}-shadow"
            shadow["shadow"] = True
            events.append(shadow)
        return [e for e in events if datetime.fromisoformat(e["timestamp"]) <= self.now]

    def call(
        self,
        *,
        ts: datetime,
        model: str,
        feature: Feature,
        input_tokens: int,
        output_tokens: int,
        cached_prompt: bool,
        outcome: str,
        attempt: int,
        judged: bool = False,
    ) -> dict:
        """One model call. outcome: "ok" or the reason this attempt is escalated."""
        rng = self.rng
        info = MODELS[model]
        raw = rng.choice(info.raw_names) if info.raw_names and rng.random() < 0.25 else model
        event: dict = {
            "timestamp": _iso(ts),
            "model": raw,
            "provider": info.provider,
            "input_tokens": input_tokens,
        }
        cache_read = cache_write = reasoning = 0
        if cached_prompt and info.provider in CACHING_PROVIDERS:
            if rng.random() < 0.12:
                cache_write = int(input_tokens * rng.uniform(0.3, 0.7))
            else:
                cache_read = int(input_tokens * rng.uniform(0.4, 0.85))
        out = output_tokens
        if model in REASONING_MODELS and feature.reasoning:
            reasoning = int(output_tokens * rng.uniform(0.8, 2.5))
            out = output_tokens + reasoning
        latency = rng.lognormvariate(math.log(info.latency_ms * (0.5 + out / 1500)), 0.35)
        quality = min(1.0, max(0.0, rng.gauss(info.quality, 0.06)))
        confidence = min(0.99, max(0.05, rng.betavariate(8, 2)))
        status = "success"
        if outcome == "error" or (outcome == "ok" and rng.random() < BASE_ERROR_RATE):
            status = "error"
            out = reasoning = 0
            cache_read = cache_write = 0
            latency = rng.uniform(80, 1500)
            if rng.random() < 0.5:
                event["input_tokens"] = 0
        elif outcome == "timeout":
            status = "error"
            out = int(out * rng.uniform(0, 0.4))
            reasoning = min(reasoning, out)
            latency = 30000 + rng.uniform(0, 200)
        elif outcome == "rate_limited":
            status = "error"
            out = reasoning = cache_read = cache_write = 0
            event["input_tokens"] = 0
            latency = rng.uniform(20, 120)
        elif outcome == "low_confidence":
            confidence = rng.uniform(0.08, 0.45)
            quality = min(quality, rng.uniform(0.35, 0.65))
        elif outcome == "quality":
            quality = rng.uniform(0.2, 0.55)
        event.update(
            {
                "output_tokens": out,
                "status": status,
                "latency_ms": round(latency, 1),
            }
        )
        if cache_read:
            event["cache_read_tokens"] = cache_read
        if cache_write:
            event["cache_write_tokens"] = cache_write
        if reasoning:
            event["reasoning_tokens"] = reasoning
        if attempt == 1 and not judged:
            event["router_confidence"] = round(confidence, 3)
        # An LLM judge scores a 40% sample (every shadow call), and every call escalated for quality.
        if status == "success" and (judged or outcome in ("low_confidence", "quality") or rng.random() < 0.4):
            event["quality_score"] = round(quality, 3)
        return event


def _bisect(cum: list[float], x: float) -> int:
    lo, hi = 0, len(cum)
    while lo < hi:
        mid = (lo + hi) // 2
        if cum[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _next_in_chain(route: RouteSpec | None, model: str) -> str:
    """The next model up the route's fallback chain; the top of the chain retries itself."""
    if route is None:
        return model
    chain = route.chain
    if model in chain:
        return chain[min(chain.index(model) + 1, len(chain) - 1)]
    return chain[-1]


def demo_seed(
    *,
    days: int = DEFAULT_DAYS,
    customers: int = DEFAULT_CUSTOMERS,
    events: int = DEFAULT_EVENTS,
    seed: int = DEFAULT_SEED,
    now: datetime | None = None,
    progress: Callable[[int], None] | None = None,
    rollup_progress: Callable[[int], None] | None = None,
) -> DemoSeedResult:
    """Create the demo org and ingest `events` (approximately) over the last `days` days.

    Deterministic for a given seed and `now`. `progress(n)` is called after each ingested batch.
    """
    if days < 1 or customers < 1 or events < 1:
        raise ValueError("days, customers and events must be at least 1")
    now = (now or timezone.now()).astimezone(UTC)
    rng = random.Random(seed)
    start = (now - days * DAY).replace(minute=0, second=0, microsecond=0)
    demo_customers = demo_customers_build(rng, customers)
    org = demo_org_create(customers=demo_customers, now=now)
    generator = TrafficGenerator(rng=rng, customers=demo_customers, start=start, now=now, events=events)
    accepted = duplicates = rejected = generated = 0
    batch: list[dict] = []

    def flush() -> None:
        nonlocal accepted, duplicates, rejected
        result = events_ingest(org=org, raw_events=batch, now=now)
        if result.errors:
            raise RuntimeError(f"demo traffic was rejected by ingest: {result.errors[:3]}")
        accepted += result.accepted
        duplicates += result.duplicates
        rejected += result.rejected
        if progress:
            progress(len(batch))
        batch.clear()

    clock = time.monotonic()
    seconds: dict[str, float] = {}
    for event in generator:
        batch.append(event)
        generated += 1
        if len(batch) >= BATCH_SIZE:
            flush()
    if batch:
        flush()
    demo_revenue_create(org=org, customers=demo_customers, start=start, end=now)
    seconds["ingest"], clock = time.monotonic() - clock, time.monotonic()
    buckets = rollup_org(org.id, progress=rollup_progress)
    seconds["rollup"], clock = time.monotonic() - clock, time.monotonic()
    demo_alert_rules_create(org=org, start=start, now=now)
    seconds["alerts"] = time.monotonic() - clock
    access = demo_access_grant(org=org)
    return DemoSeedResult(
        access=access,
        customers=len(demo_customers),
        requests=generator.requests,
        events=generated,
        accepted=accepted,
        duplicates=duplicates,
        rejected=rejected,
        buckets=buckets,
        start=start,
        end=now,
        seconds=seconds,
    )
