"""Website funnel tracking (SPEC-FUN-004 events), funnel and A/B test definitions.

The planted model (recorded in the truth file, recovered by issue 5's funnel and A/B marts):

- A visitor follows one funnel (checkout 70 %, sign-up 30 %) over ``1 + min(Poisson(0.45), 4)``
  sessions. In a session they enter the first step and move on from step ``i`` with the
  planted probability ``continue[i]``; otherwise they leave (``bounce`` on the first step,
  ``close`` later). Some skip a step (checkout: product -> checkout without the cart; sign-up:
  social log-in skips the e-mail check). The last step converts (``purchase`` with a
  product, quantity and value; ``signup``); some purchases are refunded days later.
- The A/B test ``one_page_checkout`` changes only ``continue[checkout -> purchase]``
  (control vs treatment), so the planted difference is known exactly. The A/A test
  ``signup_copy_aa`` assigns two variants that behave identically.
- A step visit writes ``page_view``, ``step_entry``, (``conversion``,) ``step_exit``.

Events are generated as numpy arrays of step visits (in chunks of visitors), expanded into
events and formatted by DuckDB, and written one file per UTC day with DuckDB's
``COPY ... (FORMAT JSON, COMPRESSION gzip)``: no per-event Python, so 10M events are fine.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import yaml
from scipy import stats

from funnellens.demo.landing_files import LandingWriter, Planted, PlantedRow
from funnellens.demo.timeline import DEFAULT_START, DemoPeriod, iso_datetime, rng_for
from funnellens.demo.vocab import USER_AGENT_WEIGHTS, USER_AGENTS

EVENTS_PER_SCALE = 20_000
LEGACY_DAYS = 7
"""The first days come from an older tracker: plain ``.ndjson`` and no ``event_id``."""
VISITORS_PER_CHUNK = 100_000
SITE = "https://shop.example.com"


@dataclass(frozen=True)
class Step:
    id: str
    name: str
    path: str
    continue_p: float
    dwell_median_s: float


@dataclass(frozen=True)
class FunnelPlan:
    id: str
    name: str
    order_mode: str
    conversion_window_days: int
    steps: tuple[Step, ...]
    visitor_share: float
    skip_from: str
    skip_p: float
    final_conversion: str


FUNNELS = (
    FunnelPlan("checkout", "Checkout", "sequential", 14, (
        Step("landing", "Landing page", "/", 0.66, 20),
        Step("product", "Product page", "/products", 0.50, 45),
        Step("cart", "Cart", "/cart", 0.68, 30),
        Step("checkout", "Checkout", "/checkout", 0.35, 90),
        Step("purchase", "Order confirmed", "/order/confirmed", 0.0, 15),
    ), 0.7, "product", 0.15, "purchase"),
    FunnelPlan("signup", "Sign-up", "strict", 7, (
        Step("pricing", "Pricing page", "/pricing", 0.48, 35),
        Step("signup_form", "Sign-up form", "/signup", 0.72, 60),
        Step("verify_email", "Verify e-mail", "/signup/verify", 0.82, 120),
        Step("welcome", "Welcome", "/welcome", 0.0, 20),
    ), 0.3, "signup_form", 0.25, "signup"),
)


@dataclass(frozen=True)
class ABTestPlan:
    id: str
    name: str
    funnel_id: str
    conversion_step_id: str
    changed_step: str
    variants: tuple[tuple[str, str, bool, float, float], ...]  # id, name, control, split, continue_p
    start_day: int
    end_day_from_end: int | None


AB_TESTS = (
    ABTestPlan("one_page_checkout", "One-page checkout", "checkout", "purchase", "checkout", (
        ("control", "Multi-page checkout", True, 0.5, 0.35),
        ("one_page", "One-page checkout", False, 0.5, 0.60),
    ), 2, None),
    ABTestPlan("signup_copy_aa", "Sign-up copy (A/A check)", "signup", "welcome", "verify_email", (
        ("a1", "Current copy", True, 0.5, 0.82),
        ("a2", "Current copy (duplicate)", False, 0.5, 0.82),
    ), 7, 1),
)

PRODUCTS = tuple(
    (f"sku_{i + 1:03d}", price) for i, price in enumerate(
        (1999, 2499, 3499, 4999, 1299, 899, 5999, 7999, 2999, 1499, 3999, 6499, 999, 11999, 2199,
         1799, 4499, 2799, 3299, 8999, 1599, 5499, 2399, 699, 14999)))
TRAFFIC = (
    # utm_source, utm_medium, utm_campaign, referrer, weight
    ("google", "cpc", "spring_sale", "https://www.google.com/", 0.22),
    (None, None, None, "https://www.google.com/", 0.20),
    ("facebook", "paid_social", "retargeting", "https://m.facebook.com/", 0.14),
    ("newsletter", "email", "weekly_digest", None, 0.10),
    (None, None, None, None, 0.18),
    ("tiktok", "social", "creator_collab", "https://www.tiktok.com/", 0.09),
    ("instagram", "social", "bio_link", "https://l.instagram.com/", 0.07),
)
SCREENS = ("390x844", "412x915", "1920x1080", "1440x900", "1366x768", "820x1180")
LANGS = ("en-US", "en-GB", "de-DE", "es-ES", "fr-FR")
EXIT_OUTCOMES = ("next_step", "bounce", "close", "conversion")
CONVERSION_CODES = (None, "form_submit", "purchase", "signup", "custom", "refund")


def _funnel_index(funnel_id: str) -> int:
    return next(i for i, f in enumerate(FUNNELS) if f.id == funnel_id)


def _test_window(test: ABTestPlan, period: DemoPeriod) -> tuple[float, float]:
    lo = test.start_day * 24.0
    hi = period.hours - (test.end_day_from_end or 0) * 24.0
    return lo, hi


# ----------------------------------------------------------------------------------------
# Simulation of step visits (vectorised, one chunk of visitors at a time)
# ----------------------------------------------------------------------------------------
def _simulate_chunk(period: DemoPeriod, rng: np.random.Generator, n_visitors: int, visitor_offset: int,
                    session_offset: int) -> dict[str, np.ndarray]:
    """Step visits (one row each) of ``n_visitors`` visitors; plus refund rows."""
    hours = float(period.hours)
    funnel_of_visitor = (rng.random(n_visitors) >= FUNNELS[0].visitor_share).astype(np.int8)
    n_sessions = 1 + np.minimum(rng.poisson(0.45, n_visitors), 4)
    first = rng.uniform(0, hours - 2, n_visitors)
    variant_u = rng.random(n_visitors)
    ua = rng.choice(len(USER_AGENTS), n_visitors, p=np.asarray(USER_AGENT_WEIGHTS) / sum(USER_AGENT_WEIGHTS))
    ip = rng.integers(16_777_216, 3_758_096_383, n_visitors, dtype=np.int64)  # 1.0.0.0 .. 223.255.255.255
    screen = rng.integers(0, len(SCREENS), n_visitors)
    lang = rng.integers(0, len(LANGS), n_visitors)

    s_visitor = np.repeat(np.arange(n_visitors), n_sessions)
    s_first = np.cumsum(n_sessions) - n_sessions
    gaps = rng.exponential(72.0, s_visitor.size)
    gaps[s_first] = 0.0
    s_start = first[s_visitor] + np.cumsum(gaps) - np.repeat(np.cumsum(gaps)[s_first], n_sessions)
    keep = s_start < hours - 2
    s_visitor, s_start = s_visitor[keep], s_start[keep]
    n_s = s_visitor.size
    s_funnel = funnel_of_visitor[s_visitor]
    weights = np.array([t[4] for t in TRAFFIC])
    s_traffic = rng.choice(len(TRAFFIC), n_s, p=weights / weights.sum())
    s_id = session_offset + np.arange(n_s)

    # A/B exposure: the test of the session's funnel is running when the session starts.
    s_test = np.full(n_s, -1, dtype=np.int8)
    s_variant = np.full(n_s, -1, dtype=np.int8)
    for t_idx, test in enumerate(AB_TESTS):
        lo, hi = _test_window(test, period)
        exposed = (s_funnel == _funnel_index(test.funnel_id)) & (s_start >= lo) & (s_start < hi)
        splits = np.cumsum([v[3] for v in test.variants])
        variant = np.searchsorted(splits, variant_u[s_visitor], side="right").astype(np.int8)
        s_test[exposed] = t_idx
        s_variant[exposed] = variant[exposed]

    # Walk the funnel: position, continue or leave, maybe skip a step.
    max_steps = max(len(f.steps) for f in FUNNELS)
    cont = np.zeros((len(FUNNELS), max_steps))
    skip_from = np.array([[s.id for s in f.steps].index(f.skip_from) for f in FUNNELS])
    skip_p = np.array([f.skip_p for f in FUNNELS])
    for fi, f in enumerate(FUNNELS):
        cont[fi, :len(f.steps)] = [s.continue_p for s in f.steps]
    n_steps = np.array([len(f.steps) for f in FUNNELS])
    pos = np.zeros(n_s, dtype=np.int64)
    active = np.ones(n_s, dtype=bool)
    path = np.full((n_s, max_steps), -1, dtype=np.int64)
    for k in range(max_steps):
        path[:, k] = np.where(active, pos, -1)
        p_go = cont[s_funnel, np.minimum(pos, max_steps - 1)]
        for t_idx, test in enumerate(AB_TESTS):
            fi = _funnel_index(test.funnel_id)
            changed = [s.id for s in FUNNELS[fi].steps].index(test.changed_step)
            variant_p = np.array([v[4] for v in test.variants])
            sel = active & (s_test == t_idx) & (pos == changed)
            p_go = np.where(sel, variant_p[np.maximum(s_variant, 0)], p_go)
        go = active & (rng.random(n_s) < p_go)
        skip = go & (pos == skip_from[s_funnel]) & (rng.random(n_s) < skip_p[s_funnel])
        pos = pos + 1 + skip
        active = go & (pos < n_steps[s_funnel])

    # One row per step visit.
    visited = path >= 0
    v_session = np.repeat(np.arange(n_s), visited.sum(axis=1))
    v_step = path[visited]
    v_seq = np.nonzero(visited)[1]
    v_funnel = s_funnel[v_session]
    n_v = v_session.size
    is_last_visit = np.ones(n_v, dtype=bool)
    is_last_visit[:-1] = v_session[1:] != v_session[:-1]
    prev_step = np.where(v_seq > 0, np.concatenate([[-1], v_step[:-1]]), -1)
    next_step = np.where(is_last_visit, -1, np.concatenate([v_step[1:], [-1]]))
    final_step = n_steps[v_funnel] - 1
    converted = v_step == final_step
    exit_code = np.where(~is_last_visit, 0, np.where(converted, 3, np.where(v_seq == 0, 1, 2))).astype(np.int8)

    medians = np.zeros((len(FUNNELS), max_steps))
    for fi, f in enumerate(FUNNELS):
        medians[fi, :len(f.steps)] = [s.dwell_median_s for s in f.steps]
    dwell_ms = np.minimum(medians[v_funnel, v_step] * rng.lognormal(0, 0.6, n_v), 1800) * 1000
    dwell_ms = np.maximum(dwell_ms, 1500).astype(np.int64)
    gap_ms = rng.integers(300, 3000, n_v)
    # Each visit starts after the previous visit of its session ended.
    step_total = dwell_ms + gap_ms
    cum = np.cumsum(step_total)
    session_first_visit = np.flatnonzero(np.concatenate([[True], v_session[1:] != v_session[:-1]]))
    before = cum - step_total
    before -= np.repeat(before[session_first_visit], np.diff(np.append(session_first_visit, n_v)))
    t_view = (s_start[v_session] * 3_600_000).astype(np.int64) + before
    t_exit = t_view + dwell_ms

    conv = np.zeros(n_v, dtype=np.int8)
    conv[converted] = np.where(v_funnel[converted] == 0, 2, 3)
    form = (v_funnel == 1) & (v_step == 1) & (next_step >= 0)
    conv[form] = 1
    custom = (v_funnel == 0) & (v_step == 1) & (rng.random(n_v) < 0.05)
    conv[custom] = 4
    purchase = conv == 2
    zipf = 1.0 / np.arange(1, len(PRODUCTS) + 1) ** 0.9
    product = np.full(n_v, -1, dtype=np.int16)
    product[purchase] = rng.choice(len(PRODUCTS), int(purchase.sum()), p=zipf / zipf.sum())
    quantity = np.zeros(n_v, dtype=np.int16)
    quantity[purchase] = 1 + np.minimum(rng.poisson(0.3, int(purchase.sum())), 4)
    price = np.array([p for _, p in PRODUCTS], dtype=np.int64)
    value = np.zeros(n_v, dtype=np.int64)
    value[purchase] = price[product[purchase]] * quantity[purchase]

    visits = {
        "visitor": visitor_offset + s_visitor[v_session],
        "session": s_id[v_session],
        "funnel": v_funnel.astype(np.int8),
        "step": v_step.astype(np.int8),
        "seq": v_seq.astype(np.int8),
        "t_view": t_view,
        "t_exit": t_exit,
        "prev_step": prev_step.astype(np.int8),
        "next_step": next_step.astype(np.int8),
        "exit_code": exit_code,
        "conv": conv,
        "product": product,
        "quantity": quantity,
        "value_cents": value,
        "ab_test": s_test[v_session],
        "variant": s_variant[v_session],
        "ua": ua[s_visitor[v_session]].astype(np.int8),
        "ip": ip[s_visitor[v_session]],
        "screen": screen[s_visitor[v_session]].astype(np.int8),
        "lang": lang[s_visitor[v_session]].astype(np.int8),
        "traffic": s_traffic[v_session].astype(np.int8),
        "is_refund": np.zeros(n_v, dtype=bool),
    }
    # Refunds: 6 % of purchases, 1-10 days later, in a server-side session of the same visitor.
    refund = purchase & (rng.random(n_v) < 0.06)
    r_at = t_view[refund] + (rng.uniform(24, 240, int(refund.sum())) * 3_600_000).astype(np.int64)
    ok = r_at < hours * 3_600_000
    idx = np.flatnonzero(refund)[ok]
    if idx.size:
        refunds = {k: v[idx].copy() for k, v in visits.items()}
        refunds["session"] = -(refunds["session"] + 1)  # a negative id marks a server-side session
        refunds["t_view"] = r_at[ok]
        refunds["t_exit"] = r_at[ok]
        refunds["conv"][:] = 5
        refunds["value_cents"] = -refunds["value_cents"]
        refunds["is_refund"][:] = True
        refunds["seq"][:] = 0
        refunds["ab_test"][:] = -1
        refunds["variant"][:] = -1
        visits = {k: np.concatenate([visits[k], refunds[k]]) for k in visits}
    visits["n_sessions"] = np.array([n_s])
    return visits


def _events_per_visitor(period: DemoPeriod, seed: int) -> float:
    pilot = _simulate_chunk(period, rng_for(seed, "tracking-pilot"), 20_000, 0, 0)
    n_conv = int((pilot["conv"] > 0).sum())
    n_visits = int((~pilot["is_refund"]).sum())
    return (3 * n_visits + n_conv) / 20_000


# ----------------------------------------------------------------------------------------
# Events: expand, format and write with DuckDB
# ----------------------------------------------------------------------------------------
def _sql_letters(expr: str, width: int) -> str:
    """SQL: a non-negative integer as ``width`` lower-case letters (ids with no long digit runs,
    so no id ever looks like a phone or card number to a PII scanner)."""
    return " || ".join(f"chr((97 + (({expr}) // {26 ** k}) % 26)::INTEGER)" for k in reversed(range(width)))


def _lookup(values: tuple, expr: str) -> str:
    """SQL: the ``expr``-th item of a small vocabulary (NULL for a negative index or a None item)."""
    items = ", ".join("NULL::VARCHAR" if v is None else "'" + str(v).replace("'", "''") + "'" for v in values)
    return f"(CASE WHEN ({expr}) < 0 THEN NULL ELSE [{items}][({expr}) + 1] END)"


def _per_funnel(column: str, attribute: str) -> str:
    """SQL: a step attribute (``id`` or ``path``) of the step index in ``column``, per funnel."""
    whens = " ".join(
        f"WHEN e.funnel = {fi} THEN {_lookup(tuple(getattr(s, attribute) for s in f.steps), column)}"
        for fi, f in enumerate(FUNNELS))
    return f"(CASE {whens} END)"


EXPANDED_EVENTS = """
    SELECT v.*, k.kind,
      CASE k.kind WHEN 0 THEN v.t_view WHEN 1 THEN v.t_view + 400
                  WHEN 2 THEN CASE WHEN v.is_refund THEN v.t_view ELSE v.t_exit - 500 END
                  ELSE v.t_exit END AS t
    FROM visits v JOIN (VALUES (0), (1), (2), (3)) k(kind)
      ON (NOT v.is_refund AND (k.kind <> 2 OR v.conv > 0)) OR (v.is_refund AND k.kind = 2)
"""
"""One row per event: each step visit gives page_view (0), step_entry (1), conversion (2, when
it converts) and step_exit (3); a refund row gives one conversion."""


def _format_sql(period: DemoPeriod, with_event_id: bool) -> str:
    """SQL: the SPEC-FUN-004 JSON fields of each expanded event ``e``, in the spec's order."""
    utm = {name: _lookup(tuple(t[i] for t in TRAFFIC), "e.traffic")
           for i, name in enumerate(("utm_source", "utm_medium", "utm_campaign", "referrer"))}
    variant = "(CASE " + " ".join(
        f"WHEN e.ab_test = {ti} THEN {_lookup(tuple(v[0] for v in t.variants), 'e.variant')}"
        for ti, t in enumerate(AB_TESTS)) + " END)"
    event_id = f"'ev_' || {_sql_letters('e.visit_id * 4 + e.kind', 7)} AS event_id," if with_event_id else ""
    return f"""
      {event_id}
      CASE e.kind WHEN 0 THEN 'page_view' WHEN 1 THEN 'step_entry' WHEN 2 THEN 'conversion'
                  ELSE 'step_exit' END AS event_type,
      {_lookup(tuple(f.id for f in FUNNELS), 'e.funnel')} AS funnel_id,
      CASE WHEN e.is_refund THEN 'pg_account_orders' ELSE 'pg_' || {_per_funnel('e.step', 'id')} END AS page_id,
      {_per_funnel('e.step', 'id')} AS funnel_step_id,
      CASE WHEN e.kind = 1 THEN {_per_funnel('e.prev_step', 'id')} END AS previous_step_id,
      CASE WHEN e.kind = 3 THEN {_per_funnel('e.next_step', 'id')} END AS next_step_id,
      CASE WHEN e.session < 0 THEN 'srv_' || {_sql_letters('-e.session - 1', 6)}
           ELSE 's_' || {_sql_letters('e.session', 6)} END AS session_id,
      'v_' || {_sql_letters('e.visitor', 6)} AS visitor_id,
      '{SITE}' || CASE WHEN e.is_refund THEN '/account/orders' ELSE {_per_funnel('e.step', 'path')} END
        || CASE WHEN e.seq = 0 AND NOT e.is_refund AND {utm['utm_source']} IS NOT NULL
                THEN '?utm_source=' || {utm['utm_source']} || '&utm_medium=' || {utm['utm_medium']}
                     || '&utm_campaign=' || {utm['utm_campaign']}
                ELSE '' END AS url,
      {_lookup(USER_AGENTS, 'e.ua')} AS user_agent,
      (e.ip // 16777216)::VARCHAR || '.' || ((e.ip // 65536) % 256)::VARCHAR || '.'
        || ((e.ip // 256) % 256)::VARCHAR || '.' || (e.ip % 256)::VARCHAR AS ip_address,
      CASE WHEN e.kind = 0 AND e.seq = 0 THEN {utm['referrer']}
           WHEN e.kind = 0 AND NOT e.is_refund THEN '{SITE}' || {_per_funnel('e.prev_step', 'path')}
      END AS referrer,
      {utm['utm_source']} AS utm_source,
      {utm['utm_medium']} AS utm_medium,
      {utm['utm_campaign']} AS utm_campaign,
      CASE WHEN e.kind = 2 THEN {_lookup(CONVERSION_CODES, 'e.conv')} END AS conversion_type,
      CASE WHEN e.kind = 2 THEN e.value_cents END AS value_cents,
      CASE WHEN e.kind = 3 THEN {_lookup(EXIT_OUTCOMES, 'e.exit_code')} END AS exit_outcome,
      json_object('screen', {_lookup(SCREENS, 'e.screen')}, 'lang', {_lookup(LANGS, 'e.lang')}) AS metadata,
      strftime(TIMESTAMP '{period.start.isoformat()}' + to_milliseconds(e.t), '%Y-%m-%dT%H:%M:%S.%gZ')
        AS "timestamp",
      {_lookup(tuple(t.id for t in AB_TESTS), 'e.ab_test')} AS ab_test_id,
      {variant} AS variant_id,
      CASE WHEN e.kind = 2 AND e.product >= 0 THEN {_lookup(tuple(p for p, _ in PRODUCTS), 'e.product')} END
        AS product_id,
      CASE WHEN e.kind = 2 AND e.product >= 0 THEN e.quantity END AS quantity
    """


def _days_query(period: DemoPeriod, first_day: int, n_days: int, with_event_id: bool) -> str:
    """SQL: the formatted events of days ``[first_day, first_day + n_days)``, with their ``_day``."""
    lo, hi = first_day * 86_400_000, (first_day + n_days) * 86_400_000
    # Step visits are sorted by t_view and last at most 30 minutes, so the t_view range prunes well.
    return f"""
    SELECT {_format_sql(period, with_event_id)}, (e.t // 86400000)::INTEGER AS _day
    FROM ({EXPANDED_EVENTS} AND v.t_view >= {lo - 3_600_000} AND v.t_view < {hi}) e
    WHERE e.t >= {lo} AND e.t < {hi}
    ORDER BY e.t, e.session, e.kind
    """


def _simulate_into(con: duckdb.DuckDBPyConnection, period: DemoPeriod, seed: int, n_events: int) -> dict:
    """Simulate step visits for about ``n_events`` events into the DuckDB table ``visits``."""
    per_visitor = _events_per_visitor(period, seed)
    n_visitors = max(10, int(round(n_events / per_visitor)))
    rng = rng_for(seed, "tracking")
    session_offset = 0
    created = False
    for lo in range(0, n_visitors, VISITORS_PER_CHUNK):
        size = min(VISITORS_PER_CHUNK, n_visitors - lo)
        chunk = _simulate_chunk(period, rng, size, lo, session_offset)
        session_offset += int(chunk.pop("n_sessions")[0])
        con.register("visit_chunk", pa.table(chunk))
        if not created:
            con.execute("CREATE TABLE visits_unsorted AS SELECT * FROM visit_chunk")
            created = True
        else:
            con.execute("INSERT INTO visits_unsorted SELECT * FROM visit_chunk")
        con.unregister("visit_chunk")
    con.execute("""CREATE TABLE visits AS
                   SELECT row_number() OVER (ORDER BY t_view, session, seq, is_refund) - 1 AS visit_id, *
                   FROM visits_unsorted ORDER BY t_view, session, seq, is_refund""")
    con.execute("DROP TABLE visits_unsorted")
    return {"visitors_simulated": n_visitors, "sessions": session_offset}


EVENTS_PER_BATCH = 1_000_000


def _write_days(con: duckdb.DuckDBPyConnection, period: DemoPeriod, out_dir: Path, legacy_days: int,
                n_events: int) -> tuple[list[tuple[str, int]], int]:
    """Write the events of each UTC day to ``tracking/<day>.ndjson[.gz]``; return (file, rows).

    Events are formatted a batch of days at a time (about ``EVENTS_PER_BATCH`` events: few
    queries to plan, bounded memory), then each day is written with a plain ``COPY`` in order.
    """
    days_per_batch = int(np.clip(EVENTS_PER_BATCH / max(n_events / period.days, 1.0), 1, period.days))
    folder = out_dir / "tracking"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    total = 0
    first = 0
    while first < period.days:
        n_days = min(days_per_batch, period.days - first)
        legacy = first < legacy_days
        if legacy:  # a batch holds legacy days only or none, so each batch has one format
            n_days = min(n_days, legacy_days - first)
        con.execute("CREATE OR REPLACE TEMP TABLE batch AS "
                    + _days_query(period, first, n_days, with_event_id=not legacy))
        counts = dict(con.execute("SELECT _day, count(*) FROM batch GROUP BY _day").fetchall())
        for d in range(first, first + n_days):
            if not counts.get(d):
                continue
            day = (period.start + timedelta(days=d)).isoformat()
            name = f"{day}.ndjson" if legacy else f"{day}.ndjson.gz"
            options = "FORMAT JSON" if legacy else "FORMAT JSON, COMPRESSION gzip"
            # rowid follows the insertion order, which the batch query sorted.
            con.execute(f"COPY (SELECT * EXCLUDE (_day) FROM batch WHERE _day = {d} ORDER BY rowid) "
                        f"TO '{(folder / name).as_posix()}' ({options})")
            written.append((f"tracking/{name}", int(counts[d])))
            total += int(counts[d])
        first += n_days
    con.execute("DROP TABLE IF EXISTS batch")
    return written, total


def _connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET threads = 2")  # the machine is shared; the row order is fixed by ORDER BY anyway
    return con


def write_tracking_events(out_dir: Path, n_events: int, seed: int = 42, *, start: date | None = None,
                          days: int = 120, legacy_days: int = 0) -> list[Path]:
    """Write about ``n_events`` tracking events as daily NDJSON files; return their paths.

    For benchmarks: no planted bad input, no truth file. ``out_dir`` is a landing zone (the files
    go to ``out_dir/tracking/``) or its ``tracking`` folder itself (a folder named ``tracking`` is
    written into directly). Every day is a gzipped ``<day>.ndjson.gz`` with an ``event_id``;
    ``legacy_days > 0`` writes the first days as plain ``.ndjson`` without ``event_id``, as the
    demo does. Deterministic for a seed; vectorised (numpy + DuckDB ``COPY``), so 10M events are
    fine.
    """
    if n_events < 1:
        raise ValueError(f"n_events must be positive, got {n_events}")
    out_dir = Path(out_dir)
    landing = out_dir.parent if out_dir.name == "tracking" else out_dir
    period = DemoPeriod(start or DEFAULT_START, days)
    with _connect() as con:
        _simulate_into(con, period, seed, n_events)
        written, _ = _write_days(con, period, landing, legacy_days, n_events)
    return [landing / rel for rel, _ in written]


def generate_tracking(writer: LandingWriter, period: DemoPeriod, seed: int, n_events: int,
                      plant_bad_input: bool) -> dict:
    """Tracking events, planted bad tracking files, and the tracking truth."""
    with _connect() as con:
        info = _simulate_into(con, period, seed, n_events)
        written, total = _write_days(con, period, writer.out_dir, LEGACY_DAYS, n_events)
        for rel, rows in written:
            writer.adopt("tracking_events", rel, rows)
        truth = _tracking_truth(con, period)
        truth.update(info, events=total)
        truth["_erasure_visitor"] = _erasure_visitor(con)
        if plant_bad_input:
            _plant_bad_tracking(con, writer, period)
    return truth


def _erasure_visitor(con: duckdb.DuckDBPyConnection) -> dict | None:
    """A visitor with a purchase (so erasing them touches the revenue marts too)."""
    buyers = [r[0] for r in con.execute(
        "SELECT DISTINCT visitor FROM visits WHERE conv = 2 AND NOT is_refund ORDER BY visitor").fetchall()]
    if not buyers:
        return None
    visitor = int(buyers[len(buyers) // 2])
    visitor_id, n = con.execute(
        f"SELECT 'v_' || {_sql_letters(str(visitor), 6)}, "
        f"(SELECT count(*) FROM ({EXPANDED_EVENTS}) x WHERE x.visitor = {visitor})").fetchone()
    return {"visitor_id": visitor_id, "events": int(n)}


def _plant_bad_tracking(con: duckdb.DuckDBPyConnection, writer: LandingWriter, period: DemoPeriod) -> None:
    last_day = period.days - 1
    day = (period.start + timedelta(days=last_day)).isoformat()
    rows = con.execute(f"""SELECT * EXCLUDE (_day) FROM ({_days_query(period, last_day, 1, True)})
                           WHERE event_type = 'page_view' LIMIT 3""").fetch_df()
    late = []
    for i, row in enumerate(rows.to_dict("records")):
        record = {k: (None if (isinstance(v, float) and np.isnan(v)) else v) for k, v in row.items()}
        record.update(event_id=f"ev_late_{i + 1:04d}", funnel_id=None, funnel_step_id=None, page_id="pg_blog",
                      url=f"{SITE}/blog/spring-lookbook", previous_step_id=None, next_step_id=None,
                      metadata=json.loads(record["metadata"]) if record.get("metadata") else None)
        late.append(json.dumps(record, separators=(",", ":")))
    if len(late) < 3:
        return
    bad_base = json.loads(late[0])
    missing_session = {k: v for k, v in bad_base.items() if k != "session_id"} | {"event_id": "ev_late_0101"}
    hover = bad_base | {"event_id": "ev_late_0102", "event_type": "hover"}
    bad_time = bad_base | {"event_id": "ev_late_0103", "timestamp": "2026-13-01T25:00:00Z"}
    lines = [late[0], late[1], late[2]]
    planted = [
        PlantedRow(2, late[1], Planted("duplicate_row", "the same event line twice in one file")),
        PlantedRow(3, '{"event_id":"ev_late_0100","event_type":"page_view","session_id":"s_',
                   Planted("invalid_json", "a line cut off mid-object")),
        PlantedRow(4, json.dumps(missing_session, separators=(",", ":")),
                   Planted("missing_required", "an event without a session id", "session_id")),
        PlantedRow(5, json.dumps(hover, separators=(",", ":")),
                   Planted("invalid_value", "an event type outside the SPEC-FUN-004 vocabulary", "event_type")),
        PlantedRow(6, json.dumps(bad_time, separators=(",", ":")),
                   Planted("invalid_timestamp", "month 13, hour 25", "occurred_at")),
    ]
    writer.write_ndjson("tracking_events", f"tracking/{day}_late_batch.ndjson", lines, planted=planted)

    # A re-upload of part of an earlier day that was cut off in transfer: a truncated gzip.
    retry_day = min(LEGACY_DAYS + 3, period.days - 1)
    retry = (period.start + timedelta(days=retry_day)).isoformat()
    sample = con.execute(f"""SELECT to_json(t) FROM (SELECT * EXCLUDE (_day)
                             FROM ({_days_query(period, retry_day, 1, True)}) LIMIT 400) t""").fetchall()
    data = gzip.compress("".join(r[0] + "\n" for r in sample).encode("utf-8"), mtime=0)
    writer.write_bytes("tracking_events", f"tracking/{retry}_retry.ndjson.gz", data[: max(40, len(data) * 3 // 5)],
                       len(sample), Planted("unreadable_file", "a gzip file truncated in transfer"))


def _tracking_truth(con: duckdb.DuckDBPyConnection, period: DemoPeriod) -> dict:
    """Planted rates, and what the simulation realised (from the step visits themselves)."""
    step_counts = con.execute(
        "SELECT funnel, step, count(*), count(DISTINCT visitor) FROM visits WHERE NOT is_refund GROUP BY ALL"
    ).fetchall()
    realized: dict[str, dict] = {f.id: {} for f in FUNNELS}
    for fi, si, n, nv in step_counts:
        realized[FUNNELS[fi].id][FUNNELS[fi].steps[si].id] = {"step_visits": int(n), "visitors": int(nv)}
    funnels = []
    for f in FUNNELS:
        funnels.append({
            "funnel_id": f.id, "order_mode": f.order_mode, "conversion_window_days": f.conversion_window_days,
            "visitor_share": f.visitor_share,
            "steps": [{"step_id": s.id, "continue_probability": s.continue_p, "median_dwell_s": s.dwell_median_s}
                      for s in f.steps],
            "skip": {"from_step": f.skip_from, "probability_of_continuing_sessions": f.skip_p,
                     "skips_step": f.steps[[s.id for s in f.steps].index(f.skip_from) + 1].id},
            "exit_outcomes": "bounce when leaving from the first step, close when leaving later, "
                             "conversion on the last step",
            "realized": realized[f.id],
        })
    tests = []
    for ti, test in enumerate(AB_TESTS):
        lo, hi = _test_window(test, period)
        final = len(FUNNELS[_funnel_index(test.funnel_id)].steps) - 1
        rows = con.execute(f"""
            SELECT variant, count(DISTINCT visitor),
                   count(DISTINCT CASE WHEN step = {final} THEN visitor END),
                   count(DISTINCT session),
                   count(DISTINCT CASE WHEN step = {final} THEN session END),
                   coalesce(sum(CASE WHEN conv = 2 THEN value_cents END), 0)
            FROM visits WHERE ab_test = {ti} AND NOT is_refund GROUP BY variant ORDER BY variant""").fetchall()
        variants = {}
        for v, n_vis, n_conv, n_sess, n_sconv, revenue in rows:
            vid, name, control, split, p = test.variants[v]
            variants[vid] = {"name": name, "control": control, "traffic_split": split,
                             "planted_continue_probability": p,
                             "planted_session_conversion_rate": round(_session_rate(test, p), 6),
                             "visitors": int(n_vis), "converting_visitors": int(n_conv),
                             "visitor_conversion_rate": round(n_conv / n_vis, 6) if n_vis else None,
                             "sessions": int(n_sess), "converting_sessions": int(n_sconv),
                             "revenue_cents": int(revenue)}
        ids = list(variants)
        pvalue = None
        if len(ids) == 2:
            a, b = variants[ids[0]], variants[ids[1]]
            pvalue = _two_proportion_pvalue(a["visitors"], a["converting_visitors"],
                                            b["visitors"], b["converting_visitors"])
        planted_diff = len({v[4] for v in test.variants}) > 1
        tests.append({
            "ab_test_id": test.id, "funnel_id": test.funnel_id, "conversion_step_id": test.conversion_step_id,
            "kind": "ab" if planted_diff else "aa",
            "changed_step": test.changed_step,
            "started_at": iso_datetime(period.start_ts + np.timedelta64(int(lo * 3600), "s")),
            "ended_at": (iso_datetime(period.start_ts + np.timedelta64(int(hi * 3600), "s"))
                         if test.end_day_from_end else None),
            "expected_significant": planted_diff,
            "expected_winner": max(test.variants, key=lambda v: v[4])[0] if planted_diff else None,
            "variants": variants,
            "realized_visitor_level_pvalue": None if pvalue is None else round(pvalue, 8),
            "unit": "visitor: exposed in a session of the funnel while the test ran; converted when the "
                    "visitor reached the conversion step in an exposed session",
        })
    conversions = dict(con.execute(
        "SELECT conv, count(*) FROM visits WHERE conv > 0 GROUP BY conv").fetchall())
    refunds = con.execute("SELECT count(*), coalesce(sum(value_cents), 0) FROM visits WHERE is_refund").fetchone()
    purchases = con.execute(
        "SELECT count(*), coalesce(sum(value_cents), 0), coalesce(sum(quantity), 0) FROM visits WHERE conv = 2"
    ).fetchone()
    return {
        "funnels": funnels,
        "ab_tests": tests,
        "visitors": int(con.execute("SELECT count(DISTINCT visitor) FROM visits").fetchone()[0]),
        "conversions_by_type": {CONVERSION_CODES[k]: int(v) for k, v in sorted(conversions.items())},
        "purchases": {"count": int(purchases[0]), "value_cents": int(purchases[1]), "units": int(purchases[2])},
        "refunds": {"count": int(refunds[0]), "value_cents": int(refunds[1])},
        "legacy_days_without_event_id": LEGACY_DAYS,
    }


def _session_rate(test: ABTestPlan, p_changed: float) -> float:
    """P(a session of the test's funnel reaches the conversion step), with the changed step's
    continue probability set to ``p_changed``: the product over the path, skips included."""
    funnel = FUNNELS[_funnel_index(test.funnel_id)]
    ids = [s.id for s in funnel.steps]
    p = {s.id: s.continue_p for s in funnel.steps}
    p[test.changed_step] = p_changed
    reach = np.zeros(len(ids))
    reach[0] = 1.0
    skip_at = ids.index(funnel.skip_from)
    for i in range(len(ids) - 1):
        go = reach[i] * p[ids[i]]
        if i == skip_at:
            reach[i + 1] += go * (1 - funnel.skip_p)
            reach[i + 2] += go * funnel.skip_p
        else:
            reach[i + 1] += go
    return float(reach[-1])


def _two_proportion_pvalue(n1: int, x1: int, n2: int, x2: int) -> float:
    """Two-sided pooled two-proportion z-test (as statsmodels ``proportions_ztest``)."""
    p = (x1 + x2) / (n1 + n2)
    se = np.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0
    z = (x2 / n2 - x1 / n1) / se
    return float(2 * stats.norm.sf(abs(z)))


# ----------------------------------------------------------------------------------------
# Definitions (YAML)
# ----------------------------------------------------------------------------------------
def write_definitions(writer: LandingWriter, period: DemoPeriod, plant_bad_input: bool) -> None:
    funnels = {"funnels": [
        {"id": f.id, "name": f.name, "order_mode": f.order_mode, "conversion_window_days": f.conversion_window_days,
         "steps": [{"id": s.id, "name": s.name} for s in f.steps]}
        for f in FUNNELS
    ]}
    text = "# DEMO DATA generated by funnellens demo\n" + yaml.safe_dump(funnels, sort_keys=False)
    writer.write_bytes("funnels", "funnels/funnels.yml", text.encode("utf-8"),
                       sum(len(f.steps) for f in FUNNELS))
    tests = []
    for test in AB_TESTS:
        lo, hi = _test_window(test, period)
        entry = {"id": test.id, "name": test.name, "funnel_id": test.funnel_id,
                 "conversion_step_id": test.conversion_step_id,
                 "started_at": iso_datetime(period.start_ts + np.timedelta64(int(lo * 3600), "s"))}
        if test.end_day_from_end:
            entry["ended_at"] = iso_datetime(period.start_ts + np.timedelta64(int(hi * 3600), "s"))
        entry["alpha"] = 0.05
        entry["variants"] = [{"id": v[0], "name": v[1], "control": v[2], "traffic_split": v[3]}
                             for v in test.variants]
        tests.append(entry)
    text = "# DEMO DATA generated by funnellens demo\n" + yaml.safe_dump({"ab_tests": tests}, sort_keys=False)
    writer.write_bytes("ab_tests", "ab_tests/ab_tests.yml", text.encode("utf-8"),
                       sum(len(t.variants) for t in AB_TESTS))
    if plant_bad_input:
        broken = ("funnels:\n  - id: upsell\n    name: Upsell\n    steps:\n      - id: offer\n"
                  "     - id: accept\n        name: [unclosed\n")
        writer.write_bytes("funnels", "funnels/draft_upsell.yml", broken.encode("utf-8"), 0,
                           Planted("unreadable_file", "a draft funnel whose YAML does not parse"))
