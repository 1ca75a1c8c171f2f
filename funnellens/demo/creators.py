"""The creator world: agencies, creators, posts, view curves, subscribers and revenue.

The planted model (recorded in the truth file, recovered by issue 3's attribution):

- A post of type ``k`` with ``T`` lifetime views accrues them along
  ``F(a) = w (1 - exp(-a / tau1)) + (1 - w) (1 - exp(-a / tau2))`` hours after publishing
  (``w = 0.85``, ``tau1`` 16 h on TikTok and 24 h on Instagram, ``tau2`` 240 h).
- Subscribers of a creator arrive as an inhomogeneous Poisson process with hourly rate

      lambda(h) = b(h) + c(h) + on(h) * sum_k beta_k / 1000 * V_k(h - L, h] / L

  where ``b`` is the baseline (subscribers per day / 24, times a day-of-week and an hour-of-day
  factor in the agency's time zone), ``c`` the extra rate of a confounder (collab, promo, ...),
  ``beta_k`` the planted effect (subscribers per 1,000 views of type ``k``), ``V_k(h - L, h]``
  the views of type ``k`` in the lag window of ``L = 48`` hours (a uniform lag kernel: every
  view of type ``k`` brings ``beta_k / 1000`` subscribers, spread evenly over the next ``L``
  hours), and ``on(h)`` is 0 inside the creator's quiet windows (placebo weeks), else 1.
- Every subscriber is drawn from one component of ``lambda``: the baseline, the confounder or
  one post. A subscriber drawn from a post that carries a tracking link uses the link with
  probability ``LINK_USE``; their link code maps to the post's true content type.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from funnellens.contract import CONTENT_TYPES
from funnellens.demo.timeline import DemoPeriod
from funnellens.demo.vocab import (
    AGENCIES,
    CAPTIONS,
    CUSTOM_CONTENT_TYPE,
    FIRST_NAMES,
    GENERIC_HASHTAGS,
    LAST_NAMES,
    USERNAME_ADJECTIVES,
    USERNAME_NOUNS,
    VIEW_FACTOR_BY_TYPE,
)

LAG_HOURS = 48
PRE_PERIOD_DAYS = 14
"""Posts are published from this many days before the period, so the first exports have history."""
CURVE_W, CURVE_TAU2 = 0.85, 240.0
CURVE_TAU1 = {"tiktok": 16.0, "instagram": 24.0}
LINK_SHARE_OF_POSTS = 0.5
LINK_USE = 0.65
MANUAL_TAG_SHARE = 0.6
UNTAGGED_CAPTION_SHARE = 0.12
"""Share of captions with no type hashtag or words: rule suggestions cannot type them."""
PROFILE_CYCLE = ("strong", "strong", "none", "strong", "weak", "strong", "strong", "none")
STRONG_BEST_TYPES = ("storytime", "behind_scenes", "money_talk", "grwm", "storytime", "behind_scenes")
WEEK_DOW_MULTIPLIERS = np.array([0.90, 0.88, 0.92, 0.97, 1.08, 1.17, 1.08])  # Monday .. Sunday
FEE_RATE = 0.20


# ----------------------------------------------------------------------------------------
# The plan
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AgencyPlan:
    agency_id: str
    name: str
    timezone: str
    currency: str
    style: int


@dataclass(frozen=True)
class ConfounderPlan:
    creator_id: str
    confounder_type: str
    start_h: float
    end_h: float
    extra_per_day: float
    description: str


@dataclass
class CreatorPlan:
    index: int
    creator_id: str
    agency: AgencyPlan
    name: str
    handles: dict[str, str]
    profile: str
    effects: dict[str, float]
    type_mix: dict[str, float]
    base_daily: float
    price: float
    view_median: float
    posts_per_platform_day: float
    snapshot_local_hour: int
    export_styles: dict[str, str]
    file_naming: str
    confounders: list[ConfounderPlan] = field(default_factory=list)
    quiet_windows: list[tuple[float, float]] = field(default_factory=list)
    price_change: tuple[float, float] | None = None  # (at hour, new price)

    @property
    def platforms(self) -> tuple[str, ...]:
        return tuple(p for p in ("tiktok", "instagram") if p in self.handles)

    @property
    def best_type(self) -> str | None:
        if self.profile == "none":
            return None
        return max(self.effects, key=self.effects.__getitem__)

    @property
    def detectable(self) -> bool:
        return self.profile == "strong"


def local_week_starts(period: DemoPeriod, timezone: str) -> np.ndarray:
    """UTC hours (since the period start) of every local Monday 00:00 inside the period."""
    start = pd.Timestamp(period.start_dt).tz_localize(timezone)
    mondays = pd.date_range(start.normalize(), periods=period.days // 7 + 3, freq="W-MON", tz=timezone)
    hours = (mondays.tz_convert("UTC").tz_localize(None) - pd.Timestamp(period.start_dt)) / pd.Timedelta(hours=1)
    hours = np.asarray(hours, dtype=float)
    return hours[(hours >= 0) & (hours <= period.hours)]


def plan_creators(period: DemoPeriod, n_creators: int, posts_per_platform_day: float,
                  rng: np.random.Generator, subscriber_scale: float = 1.0) -> list[CreatorPlan]:
    """Agencies and creators with their planted effects, confounders and quiet windows.

    ``subscriber_scale`` multiplies the baseline and every effect (so the subscriber volume)
    without changing which type is best or by how much.
    """
    if n_creators < 1:
        raise ValueError(f"n_creators must be at least 1, got {n_creators}")
    n_agencies = max(min(3, n_creators), round(math.sqrt(n_creators)))
    agencies = []
    for a in range(n_agencies):
        if a < len(AGENCIES):
            agency_id, name, tz, currency, style = AGENCIES[a]
        else:
            base = AGENCIES[a % len(AGENCIES)]
            agency_id, name, tz, currency, style = (f"ag_{a + 1:03d}", f"{base[1]} {a + 1}", *base[2:])
        agencies.append(AgencyPlan(agency_id, name, tz, currency, style))

    plans: list[CreatorPlan] = []
    strong_seen = 0
    for i in range(n_creators):
        agency = agencies[i % n_agencies]
        creator_id = f"cr_{i + 1:03d}"
        first = FIRST_NAMES[i % len(FIRST_NAMES)]
        last = LAST_NAMES[(i * 7 + 3) % len(LAST_NAMES)]
        name = f"{first} {last}" if i < len(FIRST_NAMES) else f"{first} {last} {i + 1}"
        handle = f"{first.lower()}.{last.lower()}{'' if i < len(FIRST_NAMES) else i + 1}"
        on_instagram = i % 5 != 3  # most creators are on both platforms, a few on TikTok only
        handles = {"tiktok": handle.replace(".", "_")}
        if on_instagram:
            handles["instagram"] = handle

        types = list(CONTENT_TYPES)
        if agency.style == 2:
            types.append(CUSTOM_CONTENT_TYPE)
        profile = PROFILE_CYCLE[i % len(PROFILE_CYCLE)]
        # A mix of 4-5 types, always with thirst traps (the view magnet).
        others = [t for t in types if t != "thirst_trap"]
        chosen = ["thirst_trap", *rng.choice(others, size=3 + int(rng.integers(0, 2)), replace=False).tolist()]
        if profile == "strong":
            best = STRONG_BEST_TYPES[strong_seen % len(STRONG_BEST_TYPES)]
            strong_seen += 1
            if best not in chosen:
                chosen[1] = best
        weights = rng.dirichlet(np.full(len(chosen), 4.0))
        type_mix = {t: float(w) for t, w in zip(chosen, weights, strict=True)}

        if profile == "strong":
            effects = {t: float(rng.uniform(0.10, 0.22)) for t in chosen}
            effects[best] = float(rng.uniform(0.55, 0.70))
        elif profile == "weak":
            effects = {t: float(rng.uniform(0.12, 0.18)) for t in chosen}
            top = chosen[1]
            effects[top] = max(effects.values()) * 1.25
        else:  # no type effect: content converts, but every type equally
            effects = dict.fromkeys(chosen, 0.06)
        effects = {t: b * subscriber_scale for t, b in effects.items()}

        # Every export variant appears among any 4 consecutive creators (the smallest demo).
        tiktok_style, instagram_style = (
            ("tiktok_studio", "meta"),
            ("tiktok_studio", "meta_utf16_legacy"),
            ("normalized", "meta_dated"),
            ("tiktok_studio", "normalized"),
        )[i % 4]
        export_styles = {"tiktok": tiktok_style}
        if on_instagram:
            export_styles["instagram"] = instagram_style
        file_naming = ("prefix", "folder_z", "folder_z", "folder_dashes")[i % 4]

        plans.append(CreatorPlan(
            index=i,
            creator_id=creator_id,
            agency=agency,
            name=name,
            handles=handles,
            profile=profile,
            effects=effects,
            type_mix=type_mix,
            base_daily=float(rng.uniform(3.0, 6.0)) * subscriber_scale,
            price=float(rng.choice([4.99, 7.99, 9.99, 12.99, 14.99])),
            view_median=float(rng.uniform(9000, 22000)),
            posts_per_platform_day=posts_per_platform_day,
            snapshot_local_hour=int(rng.choice([6, 7, 8])),
            export_styles=export_styles,
            file_naming=file_naming,
        ))
    _plan_windows(period, plans)
    return plans


def _plan_windows(period: DemoPeriod, plans: list[CreatorPlan]) -> None:
    """The confounded week (a collab), other confounders, and quiet (placebo) weeks."""
    for plan in plans:
        weeks = local_week_starts(period, plan.agency.timezone)
        n_weeks = len(weeks) - 1
        if n_weeks < 4:
            continue

        def week(k: int, weeks: np.ndarray = weeks) -> tuple[float, float]:
            return float(weeks[k]), float(weeks[k + 1])

        base = plan.base_daily
        confounded: set[int] = set()
        slot = plan.index % 4
        if plan.index == 0:
            k = min(5, n_weeks - 1)
            lo, hi = week(k)
            plan.confounders.append(ConfounderPlan(
                plan.creator_id, "collab", lo, hi, 3.0 * base,
                "Collab week with a bigger creator: cross-posted lives and a shared giveaway"))
            confounded.add(k)
        elif slot == 1:
            k = min(7, n_weeks - 1)
            lo, _ = week(k)
            plan.confounders.append(ConfounderPlan(
                plan.creator_id, "shoutout", lo + 30, lo + 54, 2.0 * base,
                "Shout-out in a big account's story"))
            confounded.add(k)
        elif slot == 2:
            k = min(6, n_weeks - 1)
            lo, _ = week(k)
            new_price = round(plan.price * 0.8 - 0.01, 0) + 0.99 if plan.price > 5 else 3.99
            plan.price_change = (lo + 12, float(new_price))
            plan.confounders.append(ConfounderPlan(
                plan.creator_id, "price_change", lo + 12, lo + 12 + 7 * 24, 0.4 * base,
                f"Subscription price lowered from {plan.price:.2f} to {new_price:.2f}"))
            confounded.add(k)
            confounded.add(min(k + 1, n_weeks - 1))
        elif slot == 3:
            k = min(8, n_weeks - 1)
            lo, _ = week(k)
            plan.confounders.append(ConfounderPlan(
                plan.creator_id, "promo", lo + 72, lo + 144, 1.2 * base,
                "30% off the first month (promo campaign)"))
            confounded.add(k)
        # One quiet week per creator, two weeks clear of any confounder (and its lag).
        candidates = [k for k in range(2, n_weeks)
                      if all(abs(k - c) >= 2 for c in confounded)]
        if candidates:
            k = candidates[(plan.index * 3) % len(candidates)]
            plan.quiet_windows.append(week(k))


# ----------------------------------------------------------------------------------------
# Simulation
# ----------------------------------------------------------------------------------------
def view_curve(age_hours: np.ndarray, platform: str) -> np.ndarray:
    """Share of lifetime views reached ``age_hours`` after publishing (0 before)."""
    a = np.maximum(np.asarray(age_hours, dtype=np.float64), 0.0)
    return CURVE_W * (1 - np.exp(-a / CURVE_TAU1[platform])) + (1 - CURVE_W) * (1 - np.exp(-a / CURVE_TAU2))


@dataclass
class CreatorSim:
    plan: CreatorPlan
    posts: pd.DataFrame
    subscribers: pd.DataFrame
    expected: dict[str, float]
    hourly_views_by_type: dict[str, np.ndarray]


def luhn_invalid(numbers: np.ndarray) -> np.ndarray:
    """Change the last digit of each number so it fails the Luhn check.

    Post and account ids are long digit strings; making them Luhn-invalid keeps a card-number
    scanner from ever flagging one (only the planted card numbers are Luhn-valid).
    """
    n = numbers.astype(np.int64) // 10 * 10
    digits = n.copy()
    total = np.zeros_like(n)
    pos = 0
    while np.any(digits > 0):
        d = digits % 10
        if pos % 2 == 1:  # with check digit 0 appended, odd positions from the right are doubled
            d = d * 2
            d = np.where(d > 9, d - 9, d)
        total += d
        digits //= 10
        pos += 1
    valid_check = (10 - total % 10) % 10
    return n + (valid_check + 1) % 10


def random_ids(rng: np.random.Generator, n: int, low: int, high: int) -> np.ndarray:
    """``n`` distinct Luhn-invalid integers in ``[low, high)``, as strings."""
    values = np.unique(luhn_invalid(rng.integers(low, high, size=int(n * 1.05) + 16, dtype=np.int64)))
    values = rng.permutation(values)[:n]
    if len(values) < n:
        raise RuntimeError("id space too small")
    return values.astype(str)


def _captions(rng: np.random.Generator, types: np.ndarray) -> np.ndarray:
    n = len(types)
    out = np.empty(n, dtype=object)
    untyped = rng.random(n) < UNTAGGED_CAPTION_SHARE
    pick_a = rng.integers(0, 5, size=n)
    pick_b = rng.integers(0, 3, size=n)
    pick_c = rng.integers(0, len(GENERIC_HASHTAGS), size=n)
    with_generic = rng.random(n) < 0.7
    for t, (openers, tags) in CAPTIONS.items():
        idx = np.flatnonzero(types == t)
        if idx.size == 0:
            continue
        opener = np.asarray(openers, dtype=object)[pick_a[idx]]
        tag = np.asarray(tags, dtype=object)[pick_b[idx]]
        generic = np.where(with_generic[idx], " " + np.asarray(GENERIC_HASHTAGS, dtype=object)[pick_c[idx]], "")
        typed = opener + " " + tag + generic
        # An untyped caption: a neutral opener and only generic hashtags.
        plain = np.asarray(("new video", "link in bio", "thoughts?", "you asked, I delivered", "ok but why"),
                           dtype=object)[pick_a[idx]] + generic
        out[idx] = np.where(untyped[idx] & (t != "other"), plain, typed)
    return out


def simulate_creator(plan: CreatorPlan, period: DemoPeriod, rng: np.random.Generator,
                     fan_id_offset: int) -> CreatorSim:
    """Posts, hourly views and subscribers of one creator under the planted model."""
    pre_h = PRE_PERIOD_DAYS * 24
    total_h = pre_h + period.hours  # the simulation grid starts PRE_PERIOD_DAYS before the period
    tz = plan.agency.timezone

    # --- posts: a content series (2-4 days of one type), posted on each platform ---------
    n_days = PRE_PERIOD_DAYS + period.days
    types = list(plan.type_mix)
    mix = np.array([plan.type_mix[t] for t in types])
    day_type = np.empty(n_days, dtype=object)
    d = 0
    while d < n_days:
        length = int(rng.integers(2, 5))
        day_type[d:d + length] = types[int(rng.choice(len(types), p=mix))]
        d += length
    rows = []
    local_day0 = pd.Timestamp(period.start_dt) - pd.Timedelta(days=PRE_PERIOD_DAYS)
    for platform in plan.platforms:
        rate = plan.posts_per_platform_day
        counts = (rng.random(n_days) < rate).astype(int) if rate <= 1 else 1 + rng.poisson(rate - 1, n_days)
        day_idx = np.repeat(np.arange(n_days), counts)
        minutes = rng.integers(16 * 60, 23 * 60, size=day_idx.size)
        local = local_day0 + pd.to_timedelta(day_idx, unit="D") + pd.to_timedelta(minutes, unit="min")
        utc = pd.DatetimeIndex(local).tz_localize(tz, nonexistent="shift_forward", ambiguous=False)
        hours = (utc.tz_convert("UTC").tz_localize(None) - pd.Timestamp(period.start_dt)) / pd.Timedelta(hours=1)
        hours = np.asarray(hours, dtype=float) + rng.uniform(0, 1 / 60, size=day_idx.size)
        frame = pd.DataFrame({"platform": platform, "published_h": hours, "content_type": day_type[day_idx]})
        rows.append(frame[(frame.published_h > -pre_h) & (frame.published_h < period.hours - 1)])
    posts = pd.concat(rows, ignore_index=True).sort_values(["published_h", "platform"], ignore_index=True)
    n_posts = len(posts)
    factor = posts.content_type.map(VIEW_FACTOR_BY_TYPE).to_numpy(dtype=float)
    platform_factor = np.where(posts.platform == "tiktok", 1.0, 0.55)
    posts["total_views"] = np.round(
        plan.view_median * factor * platform_factor * rng.lognormal(0.0, 0.6, n_posts)).astype(np.int64)
    posts["creator_id"] = plan.creator_id
    posts["post_id"] = np.where(
        posts.platform == "tiktok",
        random_ids(rng, n_posts, 7_300_000_000_000_000_000, 7_399_999_999_999_999_999),
        random_ids(rng, n_posts, 17_900_000_000_000_000, 17_999_999_999_999_999),
    )
    posts["has_link"] = rng.random(n_posts) < LINK_SHARE_OF_POSTS
    posts["caption"] = _captions(rng, posts.content_type.to_numpy(dtype=object))
    posts["manual_tag"] = (rng.random(n_posts) < MANUAL_TAG_SHARE) | (posts.content_type == CUSTOM_CONTENT_TYPE)
    posts["like_rate"] = rng.uniform(0.05, 0.12, n_posts)
    posts["comment_rate"] = rng.uniform(0.002, 0.01, n_posts)
    posts["share_rate"] = rng.uniform(0.002, 0.02, n_posts)
    posts["save_rate"] = rng.uniform(0.005, 0.03, n_posts)
    posts["reach_rate"] = rng.uniform(0.65, 0.9, n_posts)
    posts["follow_rate"] = rng.uniform(0.0005, 0.003, n_posts)
    posts["click_rate"] = rng.uniform(0.003, 0.015, n_posts)
    posts["duration_sec"] = np.round(rng.uniform(7, 90, n_posts), 1)

    # --- hourly views of every post on the simulation grid --------------------------------
    edges = np.arange(total_h + 1, dtype=np.float64) - pre_h
    tau1 = np.where(posts.platform.to_numpy() == "tiktok", CURVE_TAU1["tiktok"], CURVE_TAU1["instagram"])
    age = np.maximum(edges[None, :] - posts.published_h.to_numpy()[:, None], 0.0)
    cum = CURVE_W * (1 - np.exp(-age / tau1[:, None])) + (1 - CURVE_W) * (1 - np.exp(-age / CURVE_TAU2))
    views = np.diff(cum, axis=1) * posts.total_views.to_numpy()[:, None]  # posts x hours

    # --- the subscriber rate -----------------------------------------------------------------
    hour_utc = pd.date_range(local_day0, periods=total_h, freq="h", tz="UTC")
    local = hour_utc.tz_convert(tz)
    dow = WEEK_DOW_MULTIPLIERS / WEEK_DOW_MULTIPLIERS.mean()
    hour_profile = 0.55 + 0.9 * np.exp(-0.5 * ((np.arange(24) - 21.0) / 3.5) ** 2)
    hour_profile /= hour_profile.mean()
    baseline = plan.base_daily / 24 * dow[local.dayofweek] * hour_profile[local.hour]
    grid_h = np.arange(total_h, dtype=float) - pre_h  # hour start, in period hours
    confounder = np.zeros(total_h)
    for c in plan.confounders:
        confounder += np.where((grid_h >= c.start_h) & (grid_h < c.end_h), c.extra_per_day / 24, 0.0)
    effect_on = np.ones(total_h)
    for lo, hi in plan.quiet_windows:
        effect_on[(grid_h >= lo) & (grid_h < hi)] = 0.0
    cs = np.cumsum(views, axis=1)
    lagged = cs.copy()
    lagged[:, LAG_HOURS:] -= cs[:, :-LAG_HOURS]
    beta = posts.content_type.map(plan.effects).fillna(0.0).to_numpy(dtype=float)
    content = lagged * (beta[:, None] / 1000.0 / LAG_HOURS) * effect_on[None, :]

    in_period = slice(pre_h, total_h)
    components = np.vstack([baseline[None, in_period], confounder[None, in_period], content[:, in_period]])
    rate = components.sum(axis=0)
    counts = rng.poisson(rate)
    sub_hour = np.repeat(np.arange(period.hours), counts)
    probs = components[:, sub_hour]
    cum_p = np.cumsum(probs, axis=0)
    u = rng.random(sub_hour.size) * cum_p[-1]
    component = (cum_p < u[None, :]).sum(axis=0)
    component = np.minimum(component, components.shape[0] - 1)
    sub_h = sub_hour + rng.random(sub_hour.size)
    order = np.argsort(sub_h, kind="stable")
    sub_h, component = sub_h[order], component[order]
    n_subs = sub_h.size
    post_idx = component - 2
    driven = post_idx >= 0
    cause = np.where(component == 0, "baseline", np.where(component == 1, "confounder", "content"))
    driver_type = np.full(n_subs, None, dtype=object)
    driver_post = np.full(n_subs, None, dtype=object)
    driver_type[driven] = posts.content_type.to_numpy(dtype=object)[post_idx[driven]]
    driver_post[driven] = posts.post_id.to_numpy(dtype=object)[post_idx[driven]]
    driver_platform = np.full(n_subs, None, dtype=object)
    driver_platform[driven] = posts.platform.to_numpy(dtype=object)[post_idx[driven]]
    has_link = np.zeros(n_subs, dtype=bool)
    has_link[driven] = posts.has_link.to_numpy()[post_idx[driven]] & (rng.random(int(driven.sum())) < LINK_USE)

    price = np.full(n_subs, plan.price)
    if plan.price_change is not None:
        price = np.where(sub_h >= plan.price_change[0], plan.price_change[1], price)
    adjective = np.asarray(USERNAME_ADJECTIVES, dtype=object)[rng.integers(0, len(USERNAME_ADJECTIVES), n_subs)]
    noun = np.asarray(USERNAME_NOUNS, dtype=object)[rng.integers(0, len(USERNAME_NOUNS), n_subs)]
    digits = rng.integers(10, 9999, n_subs).astype(str).astype(object)
    fan_numbers = fan_id_offset + rng.permutation(np.arange(n_subs) * 7 + int(rng.integers(0, 7)))
    subscribers = pd.DataFrame({
        "creator_id": plan.creator_id,
        "fan_id": np.char.add("u", (40_000_000 + fan_numbers).astype(str)),
        "fan_username": adjective + "_" + noun + digits,
        "subscribed_h": sub_h,
        "price": price,
        "cause": cause,
        "driver_platform": driver_platform,
        "driver_post_id": driver_post,
        "driver_type": driver_type,
        "has_link": has_link,
    })

    in_grid = views[:, in_period]
    types_present = sorted(posts.content_type.unique())
    hourly_by_type = {t: in_grid[posts.content_type.to_numpy() == t].sum(axis=0) for t in types_present}
    expected = {
        "baseline": float(components[0].sum()),
        "confounder": float(components[1].sum()),
        "content": float(components[2:].sum()),
    }
    return CreatorSim(plan, posts, subscribers, expected, hourly_by_type)


def dominant_type_match(sim: CreatorSim, views_by_type: dict[str, np.ndarray], lag: int = LAG_HOURS) -> tuple[int, int]:
    """(matches, link fans): weighted-window dominant type (largest view delta share in the
    ``lag`` hours before the subscription) against the true type of the fan's link."""
    subs = sim.subscribers[sim.subscribers.has_link]
    if subs.empty:
        return 0, 0
    types = sorted(views_by_type)
    mat = np.vstack([views_by_type[t] for t in types])  # types x hours
    cs = np.concatenate([np.zeros((len(types), 1)), np.cumsum(mat, axis=1)], axis=1)
    t = subs.subscribed_h.to_numpy()
    hi = np.floor(t).astype(int)  # whole hours before the subscription hour, as the pipeline sees
    lo = np.maximum(hi - lag, 0)
    window = cs[:, hi] - cs[:, lo]
    dominant = np.asarray(types, dtype=object)[np.argmax(window, axis=0)]
    return int((dominant == subs.driver_type.to_numpy()).sum()), int(len(subs))


# ----------------------------------------------------------------------------------------
# Snapshots (what the exports show)
# ----------------------------------------------------------------------------------------
def snapshot_hours(plan: CreatorPlan, platform: str, period: DemoPeriod) -> np.ndarray:
    """UTC hours of the creator's daily exports on ``platform`` (local morning, or 00:00 UTC
    for a Meta export whose Date column holds the date)."""
    if plan.export_styles[platform] == "meta_dated":
        return np.arange(period.days, dtype=float) * 24
    local_days = pd.date_range(pd.Timestamp(period.start_dt), periods=period.days, freq="D")
    local = local_days + pd.Timedelta(hours=plan.snapshot_local_hour)
    utc = pd.DatetimeIndex(local).tz_localize(plan.agency.timezone, nonexistent="shift_forward", ambiguous=False)
    return np.asarray((utc.tz_convert("UTC").tz_localize(None) - pd.Timestamp(period.start_dt))
                      / pd.Timedelta(hours=1), dtype=float)


def snapshot_table(sim: CreatorSim, platform: str, period: DemoPeriod,
                   export_window_days: int | None) -> pd.DataFrame:
    """One row per (snapshot, post in the export): cumulative metrics at the snapshot time.

    An export lists the posts published before the snapshot and, when ``export_window_days``
    is set, not longer ago than that (older posts drop out of the export, they do not drop to
    zero). Metrics are ``floor(lifetime total * F(age))`` and never decrease, except for
    the planted platform corrections.
    """
    posts = sim.posts[sim.posts.platform == platform].reset_index(drop=True)
    snaps = snapshot_hours(sim.plan, platform, period)
    age = snaps[:, None] - posts.published_h.to_numpy()[None, :]
    visible = age > 0
    if export_window_days is not None:
        visible &= age <= export_window_days * 24
    s_idx, p_idx = np.nonzero(visible)
    a = age[s_idx, p_idx]
    share = view_curve(a, platform)
    views = np.floor(posts.total_views.to_numpy()[p_idx] * share).astype(np.int64)
    out = pd.DataFrame({
        "snapshot_idx": s_idx,
        "snapshot_h": snaps[s_idx],
        "post_idx": p_idx,
        "views": views,
    })
    for metric in ("like", "comment", "share", "save", "reach", "follow", "click"):
        rate = posts[f"{metric}_rate"].to_numpy()[p_idx]
        out[f"{metric}s" if metric != "reach" else "reach"] = np.floor(views * rate).astype(np.int64)
    return out


def revenue_events(sim: CreatorSim, period: DemoPeriod, rng: np.random.Generator) -> pd.DataFrame:
    """Subscriptions, renewals, tips, paid messages, refunds and chargebacks of one creator."""
    subs = sim.subscribers
    end_h = float(period.hours)
    n = len(subs)
    sub_h = subs.subscribed_h.to_numpy()
    name = subs.fan_username.to_numpy(dtype=object)
    frames = [pd.DataFrame({"h": sub_h + 2 / 3600, "amount": subs.price.to_numpy(),
                            "description": "Subscription from " + name, "revenue_type": "subscription"})]
    # Renewals every 30 days while the fan stays (retention 0.5 a month).
    months = rng.geometric(0.5, n) - 1
    rep = np.repeat(np.arange(n), months)
    first_of_fan = np.cumsum(months) - months
    k = np.arange(rep.size) - first_of_fan[rep] + 1  # 1, 2, ... within each fan
    renew_h = sub_h[rep] + 30 * 24 * k
    keep = renew_h < end_h
    frames.append(pd.DataFrame({"h": renew_h[keep], "amount": subs.price.to_numpy()[rep][keep],
                                "description": "Recurring subscription from " + name[rep][keep],
                                "revenue_type": "subscription"}))
    for kind, lam, amounts, label in (
        ("tip", 0.35, (5.0, 10.0, 20.0, 50.0), "Tip from "),
        ("message", 0.5, (3.0, 5.0, 8.0, 12.0, 15.0), "Payment for message from "),
    ):
        counts = rng.poisson(lam, n)
        who = np.repeat(np.arange(n), counts)
        at = sub_h[who] + rng.uniform(0.5, 45 * 24, who.size)
        amount = rng.choice(amounts, who.size)
        keep = at < end_h
        frame = pd.DataFrame({"h": at[keep], "amount": amount[keep], "description": label + name[who][keep],
                              "revenue_type": kind})
        frames.append(frame)
        if kind == "tip":
            cb = rng.random(len(frame)) < 0.01
            cb_at = frame.h.to_numpy()[cb] + rng.uniform(3 * 24, 20 * 24, int(cb.sum()))
            keep_cb = cb_at < end_h
            frames.append(pd.DataFrame({
                "h": cb_at[keep_cb], "amount": -frame.amount.to_numpy()[cb][keep_cb],
                "description": "Chargeback for tip from " + frame.description.str.removeprefix("Tip from ")
                .to_numpy(dtype=object)[cb][keep_cb],
                "revenue_type": "chargeback"}))
    refund = rng.random(n) < 0.015
    refund_at = sub_h[refund] + rng.uniform(24, 5 * 24, int(refund.sum()))
    keep = refund_at < end_h
    frames.append(pd.DataFrame({"h": refund_at[keep], "amount": -subs.price.to_numpy()[refund][keep],
                                "description": "Refund for subscription from " + name[refund][keep],
                                "revenue_type": "refund"}))
    out = pd.concat(frames, ignore_index=True)
    out["h"] = np.floor(out.h * 3600) / 3600  # whole seconds
    out = out.sort_values(["h", "description"], kind="stable", ignore_index=True)
    out = out.drop_duplicates(["h", "amount", "description"], ignore_index=True)
    out["amount"] = out.amount.round(2)
    out["fee"] = (out.amount * FEE_RATE).round(2)
    out["net"] = (out.amount - out.fee).round(2)
    out["creator_id"] = sim.plan.creator_id
    return out
