"""Route figures on the pages (the routes list and a route's detail page), checked against an independent
computation over the raw events in the test: attempts arriving out of order and in separate batches,
shadow calls that must not count as requests or fallbacks, attempts that span an hour boundary."""

import math
import random
from collections import Counter, defaultdict

import orjson
import pytest

from tests.conftest import make_event

PRICES = {  # USD per 1M tokens (input, output), from the shipped catalog
    "claude-haiku-4-5": (1, 5),
    "claude-sonnet-4-6": (3, 15),
    "claude-opus-4-6": (5, 25),
    "gpt-4o": (2.5, 10),
}
CHAIN = ["claude-haiku-4-5", "claude-sonnet-4-6", "claude-opus-4-6"]
BANDS = [("0–0.5", 0.5), ("0.5–0.7", 0.7), ("0.7–0.8", 0.8), ("0.8–0.9", 0.9), ("0.9–1", 2)]
QUERY = "?range=custom&start=2026-04-10&end=2026-04-10"


def cost_nanos(e) -> int:
    p_in, p_out = PRICES[e["model"]]
    return round(e["input_tokens"] * p_in * 1000 + e["output_tokens"] * p_out * 1000)


def band(conf):
    if conf is None:
        return None
    for label, upper in BANDS:
        if conf < upper:
            return label


def generate(seed=7, n=80, default_ids=False):
    """Requests of 1-3 attempts, every fifth with a shadow call. With `default_ids`, every other
    request is sent the way a client without request_ids of its own does: the first attempt has
    no request_id (so it is its own event_id) and its retries and shadow call point at that."""
    rng = random.Random(seed)
    events = []
    for r in range(n):
        rid = f"req-{r}"
        default = default_ids and r % 2 == 0
        if default:
            rid = f"evt-{rid}-1"
        attempts = rng.choice([1, 1, 1, 2, 2, 3])
        hour = rng.choice([10, 11, 12])
        conf = rng.choice([None, round(rng.random(), 3)])
        for k in range(1, attempts + 1):
            # Some fallbacks happen in the next hour, after the first attempt's hour.
            ts_hour = hour + (1 if k > 1 and r % 4 == 0 else 0)
            e = make_event(
                f"req-{r}-{k}",
                request_id=rid,
                attempt=k,
                route="support",
                model=CHAIN[k - 1],
                timestamp=f"2026-04-10T{ts_hour}:{10 + 5 * k:02d}:00Z",
                input_tokens=rng.randint(100, 1000),
                output_tokens=rng.randint(50, 500),
            )
            if k == 1 and default:
                del e["request_id"]  # the API's default: the event's own event_id
            if k == 1 and conf is not None:
                e["router_confidence"] = conf
            if k > 1:
                e["fallback_reason"] = rng.choice(["low_confidence", "error", "timeout"])
            if rng.random() < 0.7:
                e["quality_score"] = round(rng.random(), 2)
            events.append(e)
        if r % 5 == 0:
            s = make_event(
                f"req-{r}-shadow",
                request_id=rid,
                route="support",
                shadow=True,
                model="gpt-4o",
                timestamp=f"2026-04-10T{hour}:12:00Z",
                input_tokens=rng.randint(100, 1000),
                output_tokens=rng.randint(50, 500),
                quality_score=round(rng.random(), 2),
            )
            events.append(s)
    rng.shuffle(events)
    return events


def independent(events, floor=0.7):
    events = [{"request_id": e["event_id"], **e} for e in events]  # request_id defaults to event_id
    live = [e for e in events if not e.get("shadow")]
    top = defaultdict(int)
    for e in live:
        top[e["request_id"]] = max(top[e["request_id"]], e["attempt"])
    superseded = [e for e in live if e["attempt"] < top[e["request_id"]]]
    by_req = {(e["request_id"], e["attempt"]): e for e in live}
    steps, reasons = Counter(), Counter()
    for e in live:
        nxt = by_req.get((e["request_id"], e["attempt"] + 1))
        if nxt:
            steps[(e["model"], nxt["model"], e["attempt"])] += 1
            reasons[nxt.get("fallback_reason")] += 1
    bands = defaultdict(lambda: [0, 0])
    for e in live:
        if e["attempt"] == 1:
            b = band(e.get("router_confidence"))
            bands[b][0] += 1
            bands[b][1] += e["attempt"] < top[e["request_id"]]
    quality = defaultdict(lambda: [0, 0, 0.0])
    for e in live:
        if "quality_score" in e:
            q = quality[e["model"]]
            q[0] += 1
            q[1] += e["quality_score"] < floor
            q[2] += e["quality_score"]
    shadow = defaultdict(lambda: [0, 0, 0])
    for s in events:
        if s.get("shadow"):
            served = by_req[(s["request_id"], top[s["request_id"]])]
            p = shadow[(served["model"], s["model"])]
            p[0] += 1
            p[1] += cost_nanos(served)
            p[2] += cost_nanos(s)
    cost = sum(cost_nanos(e) for e in events)
    shadow_cost = sum(cost_nanos(e) for e in events if e.get("shadow"))
    served = [e for e in live if e["attempt"] == top[e["request_id"]]]
    baseline = sum(e["input_tokens"] * 3000 + e["output_tokens"] * 15000 for e in served)
    requests = sum(1 for e in live if e["attempt"] == 1)
    return {
        "requests": requests,
        "fallbacks": sum(1 for e in live if e["attempt"] == 2),
        "superseded": len(superseded),
        "wasted": sum(cost_nanos(e) for e in superseded),
        "steps": steps,
        "reasons": reasons,
        "bands": bands,
        "quality": quality,
        "shadow": shadow,
        "cost": cost,
        "savings": baseline - (cost - shadow_cost),
        "split": Counter(e["model"] for e in live if e["attempt"] == 1),
    }


@pytest.fixture(params=["own request_ids", "default request_ids"])
def seeded(request, acme_api, ingest):
    acme_api.put(
        "/api/v1/routes/support",
        orjson.dumps(
            {"target_split": {"claude-haiku-4-5": 8, "claude-sonnet-4-6": 2}, "fallback_budget": 0.1}
        ),
        content_type="application/json",
    )
    events = generate(default_ids=request.param == "default request_ids")
    ingest(events, batch=17)  # many batches: later attempts often arrive before earlier ones
    return independent(events)


def test_detail_page_figures_match_an_independent_computation(fran_client, seeded):
    expected = seeded
    assert expected["wasted"] > 0 and expected["shadow"] and expected["reasons"]  # the data exercises them
    assert None in expected["bands"] and len(expected["bands"]) > 3
    response = fran_client.get(f"/routes/support/{QUERY}")
    assert response.status_code == 200
    ctx = response.context
    summary = ctx["summary"]
    assert summary["requests"] == expected["requests"]
    assert summary["fallbacks"] == expected["fallbacks"]
    assert summary["fallback_rate"] == round(expected["fallbacks"] / expected["requests"], 6)
    assert summary["wasted_nanos"] == expected["wasted"]
    assert summary["cost_nanos"] == expected["cost"]
    assert summary["savings_nanos"] == expected["savings"]
    assert summary["gross_savings_nanos"] == expected["savings"] + expected["wasted"]
    assert ctx["over_budget"] is (expected["fallbacks"] / expected["requests"] > 0.1)

    steps = {(s["from_model"], s["to_model"], s["from_attempt"]): s["steps"] for s in ctx["steps"]}
    assert steps == dict(expected["steps"])
    # Every superseded attempt here has its next attempt, so chain steps account for all wasted spend.
    assert sum(s["wasted_cost_nanos"] for s in ctx["steps"]) == expected["wasted"]
    assert {r["reason"]: r["steps"] for r in ctx["reasons"]} == dict(expected["reasons"])

    bands = {b["band"]: (b["requests"], b["escalated"]) for b in ctx["bands"]}
    for label, (requests, escalated) in expected["bands"].items():
        assert bands[label or "no confidence sent"] == (requests, escalated)
    assert sum(b["requests"] for b in ctx["bands"]) == expected["requests"]

    quality = {q["model"]: q for q in ctx["quality"]}
    for model, (scored, below, total) in expected["quality"].items():
        assert quality[model]["quality_samples"] == scored
        assert quality[model]["below_floor"] == below
        assert quality[model]["avg_quality"] == pytest.approx(total / scored, abs=1e-6)
    assert "gpt-4o" not in quality  # shadow calls are not the route's quality

    shadow = {(s["live_model"], s["shadow_model"]): s for s in ctx["shadow"]}
    assert set(shadow) == set(expected["shadow"])
    for key, (pairs, live_cost, shadow_cost) in expected["shadow"].items():
        assert (shadow[key]["pairs"], shadow[key]["live_cost_nanos"], shadow[key]["shadow_cost_nanos"]) == (
            pairs,
            live_cost,
            shadow_cost,
        )

    split = ctx["split"]
    target = {"claude-haiku-4-5": 0.8, "claude-sonnet-4-6": 0.2}
    total = sum(expected["split"].values())
    psi = sum(
        (max(expected["split"].get(m, 0) / total, 1e-4) - max(target.get(m, 0), 1e-4))
        * math.log(max(expected["split"].get(m, 0) / total, 1e-4) / max(target.get(m, 0), 1e-4))
        for m in set(target) | set(expected["split"])
    )
    assert split["psi"] == round(psi, 6)
    assert split["requests"] == expected["requests"]
    for fig in ("split", "psi", "fallback", "savings", "wasted", "reasons", "bands", "cost_quality"):
        assert f'id="fig-{fig.replace("_", "-")}"' in response.content.decode()


def test_routes_list_row_matches_too(fran_client, seeded):
    expected = seeded
    response = fran_client.get(f"/routes/{QUERY}")
    assert response.status_code == 200
    (row,) = response.context["rows"]
    assert row.name == "support"
    assert row.requests == expected["requests"]
    assert row.cost_nanos == expected["cost"]
    assert row.wasted_nanos == expected["wasted"]
    assert row.savings_nanos == expected["savings"]
    assert row.fallback_rate == round(expected["fallbacks"] / expected["requests"], 6)
    assert row.fallback_budget == 0.1
    assert row.psi is not None and row.compared_to == "target"


def test_late_first_attempt_is_still_counted_as_a_chain_step(acme_api, ingest, fran_client):
    # The fallback arrives first, in its own batch and hour; the first attempt a batch later.
    ingest(
        [
            make_event(
                "r-2",
                request_id="r",
                attempt=2,
                route="support",
                fallback_reason="error",
                timestamp="2026-04-10T11:05:00Z",
            )
        ]
    )
    ingest(
        [
            make_event(
                "r-1",
                request_id="r",
                route="support",
                model="claude-haiku-4-5",
                timestamp="2026-04-10T10:59:00Z",
            )
        ]
    )
    ctx = fran_client.get(f"/routes/support/{QUERY}").context
    assert [(s["from_model"], s["to_model"], s["steps"], s["wasted_cost_nanos"]) for s in ctx["steps"]] == [
        ("claude-haiku-4-5", "claude-sonnet-4-6", 1, 1_500_000)
    ]
    assert ctx["summary"]["wasted_nanos"] == 1_500_000
    assert ctx["summary"]["fallback_rate"] == 1.0
