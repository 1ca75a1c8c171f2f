"""A small tracking world for the funnel tests, and its warehouse built once per session.

The world has hand-written visitors whose funnel outcome is known in every order mode (one copy
per funnel: ``f_seq`` sequential, ``f_strict`` strict, ``f_any`` any_order), random visitors on
three more funnels (``r_*``) that the tests compare with a brute-force reference, and an A/B test
with a control and a treatment on ``f_seq``.

The build runs the funnel chain the way Dagster does: dbt staging -> analytics.user_agents ->
dbt intermediate/funnel -> analytics.funnel_dropoffs and analytics.ab_test_results -> dbt
marts/funnel.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pytest
from test_dbt_staging import DbtRun, create_raw_warehouse, run_dbt

T0 = datetime(2026, 3, 2, 10, 0, 0)  # a Monday
DESKTOP_UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/124.0.0.0 Safari/537.36")
IPHONE_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
             "Version/17.4 Mobile/15E148 Safari/604.1")
SITE = "https://shop.example.com"

HAND_FUNNELS = {"f_seq": ("sequential", 14.0), "f_strict": ("strict", 7.0), "f_any": ("any_order", 14.0)}
RANDOM_FUNNELS = {"r_seq": "sequential", "r_strict": "strict", "r_any": "any_order"}
RANDOM_STEPS = ("s1", "s2", "s3", "s4")
RANDOM_WINDOW_DAYS = 3.0
N_RANDOM_VISITORS = 80

# The hand-written visitors: sessions of (day offset, hour, [(step, dwell seconds)], last outcome).
HAND_VISITORS: dict[str, list[tuple[float, int, list[tuple[str, float]], str]]] = {
    "full": [(0, 10, [("a", 30), ("b", 60), ("c", 20)], "conversion")],
    "skip": [(0, 11, [("a", 30), ("c", 20)], "conversion")],
    "late": [(0, 12, [("a", 30), ("b", 90)], "close"), (20, 12, [("c", 20)], "conversion")],
    "back": [(0, 13, [("a", 30), ("b", 40), ("a", 10), ("c", 20)], "conversion")],
    "only_b": [(0, 14, [("b", 5)], "bounce")],
    "bounce": [(0, 15, [("a", 5)], "bounce")],
    "return": [(0, 16, [("a", 4)], "bounce"), (1, 9, [("a", 30), ("b", 50), ("c", 20)], "conversion")],
}
# Visitors reaching steps 1, 2, 3 in each mode (see the module docstring of test_funnel_marts).
EXPECTED_REACH = {
    "f_seq": (6, 4, 3),
    "f_strict": (6, 4, 2),
    "f_any": (7, 5, 3),
}
PRICE_CENTS = 4900


@dataclass(frozen=True)
class FunnelWorld:
    raw: dict[str, list[dict[str, Any]]]
    random_entries: dict[str, list[tuple[str, str, datetime]]]  # funnel -> (visitor, step, entered_at)
    ab_visitors: dict[str, tuple[int, int, float, float]]  # variant -> visitors, conversions, revenue, revenue^2


@dataclass(frozen=True)
class FunnelWarehouse:
    path: Path
    work_dir: Path
    world: FunnelWorld
    builds: dict[str, DbtRun]


class _Events:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.n = 0

    def add(self, **row: Any) -> None:
        self.n += 1
        self.rows.append({"event_id": f"e{self.n:06d}", **row})

    def session(self, funnel: str, visitor: str, session: str, start: datetime, steps: list[tuple[str, float]],
                outcome: str, *, ua: str = DESKTOP_UA, utm_source: str | None = None,
                referrer: str | None = None, ab: tuple[str, str] | None = None, value_cents: int = PRICE_CENTS,
                exit_reason: str | None = None) -> None:
        """A visit walking ``steps``; the last step ends with ``outcome`` (conversion, bounce, close)."""
        t = start
        common = {"funnel_id": funnel, "session_id": session, "visitor_id": visitor, "user_agent": ua,
                  "ip_address": "198.51.100.23", "utm_source": utm_source,
                  "ab_test_id": ab[0] if ab else None, "variant_id": ab[1] if ab else None}
        for i, (step, dwell) in enumerate(steps):
            prev = steps[i - 1][0] if i else None
            nxt = steps[i + 1][0] if i + 1 < len(steps) else None
            self.add(event_type="page_view", funnel_step_id=step, page_id=f"pg_{step}", occurred_at=t,
                     url=f"{SITE}/{step}", referrer=referrer if i == 0 else f"{SITE}/{prev}", **common)
            self.add(event_type="step_entry", funnel_step_id=step, previous_step_id=prev,
                     occurred_at=t + timedelta(milliseconds=400), **common)
            exit_at = t + timedelta(seconds=dwell)
            last_outcome = "next_step" if nxt else outcome
            if last_outcome == "conversion":
                self.add(event_type="conversion", funnel_step_id=step, conversion_type="purchase",
                         value_cents=value_cents, product_id="p1", quantity=1,
                         occurred_at=exit_at - timedelta(milliseconds=500), **common)
            metadata = f'{{"exit_reason": "{exit_reason}"}}' if exit_reason and last_outcome in ("bounce", "close") \
                else None
            self.add(event_type="step_exit", funnel_step_id=step, next_step_id=nxt, exit_outcome=last_outcome,
                     occurred_at=exit_at, metadata=metadata, **common)
            t = exit_at + timedelta(seconds=1)


def _funnel_rows() -> list[dict[str, Any]]:
    rows = []
    for funnel, (mode, window) in HAND_FUNNELS.items():
        for i, step in enumerate(("a", "b", "c"), start=1):
            rows.append({"funnel_id": funnel, "funnel_name": funnel.upper(), "order_mode": mode,
                         "conversion_window_days": window, "step_id": step, "step_name": f"Step {step.upper()}",
                         "step_order": i})
    for funnel, mode in RANDOM_FUNNELS.items():
        for i, step in enumerate(RANDOM_STEPS, start=1):
            rows.append({"funnel_id": funnel, "funnel_name": funnel, "order_mode": mode,
                         "conversion_window_days": RANDOM_WINDOW_DAYS, "step_id": step, "step_name": step,
                         "step_order": i})
    return rows


def make_world(seed: int = 7) -> FunnelWorld:
    ev = _Events()
    for funnel in HAND_FUNNELS:
        for name, sessions in HAND_VISITORS.items():
            for k, (day, hour, steps, outcome) in enumerate(sessions):
                start = T0.replace(hour=hour) + timedelta(days=day)
                ev.session(funnel, f"{funnel}-{name}", f"{funnel}-{name}-s{k}", start, steps, outcome,
                           ua=IPHONE_UA if name in ("skip", "bounce") else DESKTOP_UA,
                           utm_source="google" if name != "only_b" else None,
                           referrer="https://www.google.com/" if name != "only_b" else None)

    # Random visitors: 1-4 sessions over 6 days, random step sequences (repeats and skips).
    rng = np.random.default_rng(seed)
    random_entries: dict[str, list[tuple[str, str, datetime]]] = {f: [] for f in RANDOM_FUNNELS}
    for funnel in RANDOM_FUNNELS:
        for v in range(N_RANDOM_VISITORS):
            visitor = f"{funnel}-v{v:03d}"
            for k in range(int(rng.integers(1, 5))):
                start = T0 + timedelta(hours=float(rng.uniform(0, 24 * 6)))
                n = int(rng.integers(1, 6))
                steps = [(str(rng.choice(RANDOM_STEPS, p=[0.4, 0.25, 0.2, 0.15])), float(rng.uniform(2, 300)))
                         for _ in range(n)]
                session = f"{visitor}-s{k}"
                before = len(ev.rows)
                ev.session(funnel, visitor, session, start, steps, str(rng.choice(["bounce", "close"])),
                           ua=IPHONE_UA if v % 3 == 0 else DESKTOP_UA)
                for row in ev.rows[before:]:
                    if row["event_type"] == "step_entry":
                        random_entries[funnel].append((visitor, row["funnel_step_id"], row["occurred_at"]))

    # An A/B test on f_seq: 40 control visitors (10 convert), 40 treatment visitors (20 convert).
    ab_truth: dict[str, list[float]] = {"ctl": [], "new": []}
    for variant, converting in (("ctl", 10), ("new", 20)):
        for v in range(40):
            visitor = f"ab-{variant}-{v:02d}"
            converts = v < converting
            value = 1000 + 100 * v
            steps = [("a", 10), ("b", 10), ("c", 10)] if converts else [("a", 10), ("b", 10)]
            ev.session("f_seq", visitor, f"{visitor}-s0", T0 + timedelta(days=2, minutes=7 * v), steps,
                       "conversion" if converts else "close", ab=("ab1", variant), value_cents=value,
                       exit_reason="price_too_high" if not converts else None)
            ab_truth[variant].append(value / 100 if converts else 0.0)
    ab_visitors = {
        k: (len(vals), sum(1 for x in vals if x > 0), float(sum(vals)), float(sum(x * x for x in vals)))
        for k, vals in ab_truth.items()
    }

    # A refund of the 'full' visitor's purchase on f_seq, from a server-side session 3 days later.
    ev.add(event_type="conversion", funnel_id="f_seq", funnel_step_id="c", session_id="srv-1",
           visitor_id="f_seq-full", conversion_type="refund", value_cents=-PRICE_CENTS, product_id="p1",
           quantity=1, occurred_at=T0 + timedelta(days=3))

    ab_rows = [
        {"ab_test_id": "ab1", "ab_test_name": "Test", "funnel_id": "f_seq", "conversion_step_id": "c",
         "started_at": T0, "alpha": 0.05, "variant_id": vid, "variant_name": vid.upper(),
         "is_control": vid == "ctl", "traffic_split": 0.5}
        for vid in ("ctl", "new")
    ]
    raw = {"tracking_events": ev.rows, "funnel_steps": _funnel_rows(), "ab_test_variants": ab_rows}
    return FunnelWorld(raw, random_entries, ab_visitors)


_BUILT: dict[str, FunnelWarehouse] = {}
STAGING_SELECT = ["--select", "stg_tracking__events", "stg_definitions__funnel_steps",
                  "stg_definitions__ab_test_variants"]


def build_funnel_warehouse(tmp_path_factory: pytest.TempPathFactory) -> FunnelWarehouse:
    """The world after the whole funnel chain (cached per session)."""
    from orchestration.defs.funnel import build_ab_test_results, build_funnel_dropoffs, build_user_agents

    if "world" not in _BUILT:
        work_dir = tmp_path_factory.mktemp("funnel_world")
        path = work_dir / "warehouse.duckdb"
        world = make_world()
        create_raw_warehouse(path, world.raw)
        builds = {"staging": run_dbt(["build", *STAGING_SELECT], warehouse=path, work_dir=work_dir)}
        with duckdb.connect(str(path)) as con:
            build_user_agents(con)
        builds["intermediate"] = run_dbt(["build", "--select", "path:dbt_project/models/intermediate/funnel"],
                                         warehouse=path, work_dir=work_dir)
        if builds["intermediate"].success:
            with duckdb.connect(str(path)) as con:
                build_funnel_dropoffs(con)
                build_ab_test_results(con)
            builds["marts"] = run_dbt(["build", "--select", "path:dbt_project/models/marts/funnel"],
                                      warehouse=path, work_dir=work_dir)
        _BUILT["world"] = FunnelWarehouse(path, work_dir, world, builds)
    return _BUILT["world"]


def test_world_has_the_planted_cases() -> None:
    world = make_world()
    events = world.raw["tracking_events"]
    assert len({e["event_id"] for e in events}) == len(events)
    assert {e["event_type"] for e in events} == {"page_view", "step_entry", "step_exit", "conversion"}
    assert sum(len(v) for v in world.random_entries.values()) > 500
    assert world.ab_visitors["ctl"][:2] == (40, 10) and world.ab_visitors["new"][:2] == (40, 20)
