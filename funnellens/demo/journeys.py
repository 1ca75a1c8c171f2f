"""Marketing journeys for multi-touch attribution: touchpoints and conversions.

The planted model (recorded in the truth file, recovered in order by issue 4's Markov and
Shapley models): a user's journey is ``K = 1 + min(Poisson(0.35), 7)`` touches, each on a
channel drawn uniformly (equal popularity, so the traffic says nothing about the order). The user converts with the noisy-OR probability

    P(convert | S) = 1 - (1 - p0) * prod_{c in S} (1 - p_c)

over the set ``S`` of distinct channels touched, where ``p_c`` is the channel's planted
contribution. The planted order is the channels sorted by ``p_c``. Converting users convert
once, a few hours after their last touch; the others are null paths.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from funnellens.demo.codes import money_text
from funnellens.demo.landing_files import LandingWriter, Planted, PlantedRow
from funnellens.demo.timeline import DemoPeriod, iso_utc
from funnellens.demo.vocab import FIRST_NAMES, LAST_NAMES


@dataclass(frozen=True)
class Channel:
    name: str
    contribution: float
    popularity: float
    campaigns: tuple[str, ...]
    source: str
    medium: str
    platform: str | None
    cost_per_touch: float
    paid: bool


CHANNELS = (
    # Every channel is equally likely to be touched: only the contributions differ, so a model
    # that recovers the order recovers the contributions, not the traffic.
    Channel("paid_search", 0.40, 1.0, ("brand_search", "generic_search"), "google", "cpc", "google", 1.10, True),
    Channel("email", 0.34, 1.0, ("weekly_newsletter", "cart_reminder"), "newsletter", "email", None, 0.0, False),
    Channel("paid_social", 0.28, 1.0, ("spring_launch", "retargeting"), "facebook", "paid_social", "meta", 0.85,
            True),
    Channel("affiliate", 0.22, 1.0, ("partner_network",), "partnerize", "affiliate", None, 0.60, True),
    Channel("organic_search", 0.17, 1.0, ("(organic)",), "google", "organic", None, 0.0, False),
    Channel("referral", 0.12, 1.0, ("(referral)",), "blog.example.org", "referral", None, 0.0, False),
    Channel("display", 0.08, 1.0, ("prospecting_banners",), "google", "display", "google", 0.25, True),
    Channel("direct", 0.04, 1.0, ("(direct)",), "(direct)", "(none)", None, 0.0, False),
)
BASE_CONVERSION = 0.01
JOURNEY_EXTRA_TOUCHES = 0.35
USERS_PER_SCALE = 20_000
MAX_JOURNEY_DAYS = 25


@dataclass
class Journeys:
    touchpoints: pd.DataFrame
    conversions: pd.DataFrame
    truth: dict


def simulate_journeys(period: DemoPeriod, n_users: int, rng: np.random.Generator) -> Journeys:
    names = np.array([c.name for c in CHANNELS], dtype=object)
    popularity = np.array([c.popularity for c in CHANNELS])
    contribution = np.array([c.contribution for c in CHANNELS])
    k = 1 + np.minimum(rng.poisson(JOURNEY_EXTRA_TOUCHES, n_users), 7)
    user = np.repeat(np.arange(n_users), k)
    channel = rng.choice(len(CHANNELS), size=user.size, p=popularity / popularity.sum())

    span_h = min(MAX_JOURNEY_DAYS * 24.0, period.hours / 2)
    start = rng.uniform(0, period.hours - span_h - 24, n_users)
    gaps = rng.exponential(36.0, user.size) + 1 / 60
    first = np.cumsum(k) - k
    gaps[first] = 0.0
    offset = np.cumsum(gaps)
    offset -= np.repeat(offset[first], k)  # hours since the user's first touch
    last_offset = offset[np.cumsum(k) - 1]
    squeeze = np.minimum(1.0, span_h / np.maximum(last_offset, 1e-9))
    position = np.arange(user.size) - first[user]
    # Whole seconds, strictly increasing within a journey (so no two touches share a natural key).
    touched_h = (np.floor((start[user] + offset * squeeze[user]) * 3600) + position) / 3600

    # Noisy-OR over the distinct channels of each user.
    present = np.zeros((n_users, len(CHANNELS)), dtype=bool)
    present[user, channel] = True
    p_convert = 1 - (1 - BASE_CONVERSION) * np.prod(np.where(present, 1 - contribution[None, :], 1.0), axis=1)
    converts = rng.random(n_users) < p_convert
    last_touch = touched_h[np.cumsum(k) - 1]
    conv_h = last_touch + rng.exponential(4.0, n_users) + 1 / 60

    user_ids = np.char.add("cu_", np.char.zfill((np.arange(n_users) + 1).astype(str), 6))
    campaign_pick = rng.integers(0, 2, user.size)
    campaigns = np.array([c.campaigns[min(i, len(c.campaigns) - 1)] for c in CHANNELS for i in (0, 1)],
                         dtype=object).reshape(len(CHANNELS), 2)
    cost_noise = rng.uniform(0.6, 1.4, user.size)
    cost = np.round(np.array([c.cost_per_touch for c in CHANNELS])[channel] * cost_noise, 2)
    touchpoints = pd.DataFrame({
        "user_id": user_ids[user],
        "touched_h": touched_h,
        "channel": names[channel],
        "campaign": campaigns[channel, campaign_pick],
        "source": np.array([c.source for c in CHANNELS], dtype=object)[channel],
        "medium": np.array([c.medium for c in CHANNELS], dtype=object)[channel],
        "platform": np.array([c.platform for c in CHANNELS], dtype=object)[channel],
        "cost": np.where(np.array([c.paid for c in CHANNELS])[channel], cost, np.nan),
        "paid": np.array([c.paid for c in CHANNELS])[channel],
    })

    cu = np.flatnonzero(converts)
    is_purchase = rng.random(cu.size) < 0.8
    first_names = np.asarray(FIRST_NAMES, dtype=object)[rng.integers(0, len(FIRST_NAMES), cu.size)]
    last_names = np.asarray(LAST_NAMES, dtype=object)[rng.integers(0, len(LAST_NAMES), cu.size)]
    domains = np.asarray(("gmail.com", "outlook.com", "yahoo.com", "icloud.com", "proton.me"),
                         dtype=object)[rng.integers(0, 5, cu.size)]
    emails = (pd.Series(first_names).str.lower() + "." + pd.Series(last_names).str.lower()
              + rng.integers(1, 999, cu.size).astype(str) + "@" + domains).to_numpy(dtype=object)
    phones = ("+1" + rng.choice(["212", "312", "415", "617", "702", "206"], cu.size).astype(object)
              + "555" + np.char.zfill(rng.integers(100, 200, cu.size).astype(str), 4).astype(object))
    has_email = rng.random(cu.size) < 0.7
    has_phone = rng.random(cu.size) < 0.4
    conversions = pd.DataFrame({
        "conversion_id": np.char.add("ord_", np.char.zfill((np.arange(cu.size) + 100001).astype(str), 7)),
        "user_id": user_ids[cu],
        "converted_h": np.floor(conv_h[cu] * 3600) / 3600,
        "conversion_type": np.where(is_purchase, "purchase", "signup"),
        "value": np.where(is_purchase, np.round(rng.lognormal(np.log(60), 0.5, cu.size), 2), 0.0),
        "currency": "USD",
        "email": np.where(is_purchase & has_email, emails, None),
        "phone": np.where(is_purchase & has_phone, phones, None),
    })
    conversions.loc[~is_purchase, "conversion_id"] = np.char.add(
        "sgn_", np.char.zfill((np.arange(int((~is_purchase).sum())) + 1).astype(str), 6))

    order = np.argsort(-contribution, kind="stable")
    truth = {
        "model": "noisy-OR: P(convert | channels S) = 1 - (1 - p0) * prod_{c in S} (1 - p_c)",
        "base_conversion_probability": BASE_CONVERSION,
        "channels": {c.name: {"contribution": c.contribution, "popularity": round(c.popularity / popularity.sum(), 4)}
                     for c in CHANNELS},
        "planted_order": [CHANNELS[i].name for i in order],
        "users": int(n_users),
        "touchpoints": int(len(touchpoints)),
        "converting_users": int(converts.sum()),
        "null_journeys": int(n_users - converts.sum()),
        "conversion_value": round(float(conversions.value.sum()), 2),
        "lookback_days_needed": MAX_JOURNEY_DAYS,
        "note": "Every conversion is strictly after its user's last touch and within 25 days of the first.",
    }
    return Journeys(touchpoints, conversions, truth)


def write_journeys(writer: LandingWriter, period: DemoPeriod, journeys: Journeys, plant_bad_input: bool) -> None:
    """Monthly files: paid touches as an ad-platform CSV (no id: the loader derives one), web
    touches as NDJSON with ids; purchases as an orders CSV, sign-ups as gzipped NDJSON."""
    tp = journeys.touchpoints.assign(ts=period.timestamps(journeys.touchpoints.touched_h.to_numpy()))
    tp = tp.sort_values(["ts", "user_id"], kind="stable", ignore_index=True)
    tp["touchpoint_id"] = np.char.add("tp_", np.char.zfill((np.arange(len(tp)) + 1).astype(str), 8))
    tp["iso"] = iso_utc(tp.ts.to_numpy())
    ads_all = pd.DataFrame({
        "customer_id": tp.user_id, "timestamp": tp.iso, "channel_grouping": tp.channel, "campaign_name": tp.campaign,
        "source": tp.source, "medium": tp.medium, "utm_source": tp.source, "utm_medium": tp.medium,
        "utm_campaign": tp.campaign, "platform": tp.platform, "spend": np.where(tp.cost.isna(), "", money_text(tp.cost.fillna(0).to_numpy())),
    })
    previous_web: list[str] = []
    for n_month, (label, lo, hi) in enumerate(period.months()):
        in_month = ((tp.ts >= lo) & (tp.ts < hi)).to_numpy()
        ads = ads_all[in_month & tp.paid.to_numpy()]
        planted: list[PlantedRow] = []
        if plant_bad_input and n_month == 0 and len(ads) > 30:
            planted = [
                PlantedRow(13, ads.iloc[[12]], Planted("duplicate_row", "the same ad click exported twice")),
                PlantedRow(21, ads.iloc[[19]].assign(customer_id=""),
                           Planted("missing_required", "an ad click without a customer id", "user_id")),
                PlantedRow(27, ads.iloc[[24]].assign(timestamp="last tuesday"),
                           Planted("invalid_timestamp", "a click time that is not a date", "touched_at")),
            ]
        writer.write_frame("touchpoints", f"touchpoints/ads_{label}.csv", ads, planted=planted)

        web = _web_touch_lines(tp[in_month & ~tp.paid.to_numpy()])
        planted = []
        if plant_bad_input and n_month == 1 and previous_web:
            planted.append(PlantedRow(0, previous_web[-1], Planted(
                "duplicate_row", "the previous month's last touchpoint, delivered again")))
        if plant_bad_input and n_month == 0 and len(web) > 40:
            planted.append(PlantedRow(40, '{"touchpoint_id":"tp_broken","user_id":"cu_000001","touched_at":',
                                      Planted("invalid_json", "a line cut off in the middle of a JSON object")))
        writer.write_ndjson("touchpoints", f"touchpoints/web_{label}.ndjson", web, planted=planted)
        previous_web = web

    if plant_bad_input:
        writer.write_rows("touchpoints", "touchpoints/partner_export_legacy.csv",
                          ("Kunde", "Zeitpunkt", "Kanal", "Kampagne"),
                          [("cu_000001", "02.03.2026 10:15", "Partner", "Frühling")])
        writer.plant("touchpoints", "touchpoints/partner_export_legacy.csv", None,
                     Planted("unknown_columns", "a German partner export whose header maps to no known column"))

    conv = journeys.conversions.assign(ts=period.timestamps(journeys.conversions.converted_h.to_numpy()))
    conv = conv.sort_values(["ts", "conversion_id"], kind="stable", ignore_index=True)
    conv["iso"] = iso_utc(conv.ts.to_numpy())
    orders_all = pd.DataFrame({
        "order_id": conv.conversion_id, "customer_id": conv.user_id, "timestamp": conv.iso,
        "type": conv.conversion_type, "revenue": money_text(conv.value.to_numpy()), "currency": conv.currency,
        "email": conv.email, "phone": conv.phone,
    })
    for n_month, (label, lo, hi) in enumerate(period.months()):
        in_month = ((conv.ts >= lo) & (conv.ts < hi)).to_numpy()
        is_purchase = (conv.conversion_type == "purchase").to_numpy()
        orders = orders_all[in_month & is_purchase]
        planted = []
        if plant_bad_input and n_month == 0 and len(orders) > 12:
            planted = [
                PlantedRow(5, orders.iloc[[4]].assign(order_id="", revenue="19.00", email=None, phone=None),
                           Planted("missing_required", "an order without an order id", "conversion_id")),
                PlantedRow(11, orders.iloc[[9]].assign(order_id="ord_9000001", revenue="N/A", email=None, phone=None),
                           Planted("invalid_number", "an order value that is not a number", "value")),
            ]
        writer.write_frame("conversions", f"conversions/orders_{label}.csv", orders, planted=planted)
        signups = conv[in_month & ~is_purchase]
        frame = pd.DataFrame({"conversion_id": signups.conversion_id, "user_id": signups.user_id,
                              "converted_at": signups.iso, "conversion_type": signups.conversion_type,
                              "value": signups.value, "currency": signups.currency})
        lines = frame.to_json(orient="records", lines=True).splitlines() if len(frame) else []
        writer.write_ndjson("conversions", f"conversions/signups_{label}.ndjson.gz", lines, compress=True)


def _web_touch_lines(web: pd.DataFrame) -> list[str]:
    """Web-analytics touchpoints as JSON lines, serialised in bulk; only e-mail touches carry UTM
    fields (trackers omit absent fields rather than writing null)."""
    base = ["touchpoint_id", "user_id", "touched_at", "channel", "campaign", "source", "medium"]
    frame = web.rename(columns={"iso": "touched_at"})
    is_email = (frame.channel == "email").to_numpy()
    tagged = frame[is_email].assign(utm_source="newsletter", utm_medium="email",
                                    utm_campaign=frame.campaign[is_email])
    out = np.empty(len(frame), dtype=object)
    for mask, part, cols in ((is_email, tagged, [*base, "utm_source", "utm_medium", "utm_campaign"]),
                             (~is_email, frame[~is_email], base)):
        if mask.any():
            out[mask] = part[cols].to_json(orient="records", lines=True, force_ascii=False).splitlines()
    return out.tolist()
