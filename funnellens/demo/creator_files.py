"""Write the creator sources: roster, post exports, tags, links, subscribers, revenue, confounders.

Each agency delivers its tags, subscribers and revenue in one of three styles (header variants,
creator in a column, a folder or a file-name prefix, time formats), so every variant of the
contract is exercised. Post exports are one file per creator, platform and day, in one of the
export variants; the snapshot time and the creator come from where each variant puts them:

- TikTok Studio / Meta (``Lifetime`` Date): ``social/<platform>/<creator>/2026-03-02T1100Z.csv``,
  ``.../<creator>/2026-03-02T11-00-00.csv`` or ``social/<platform>/<creator>__2026-03-02T1100Z.csv``
  (time from the name; creator from the folder or the prefix);
- Meta with the old ``Impressions`` header, UTF-16 with a ``sep=,`` line for the first 14 days;
- Meta whose ``Date`` column holds the day: ``social/instagram/<creator>/2026-03-02.csv`` (00:00 UTC);
- normalized: ``social/<platform>/<creator>/scheduler_export_20260302.csv`` (``snapshot_at``,
  ``creator_id`` and ``clicks`` columns).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from funnellens.demo.codes import ascii_rows, money_text
from funnellens.demo.creators import (
    CreatorPlan,
    CreatorSim,
    dominant_type_match,
    luhn_invalid,
    snapshot_hours,
    snapshot_table,
)
from funnellens.demo.landing_files import LandingWriter, Planted, PlantedRow, render_frame
from funnellens.demo.timeline import DemoPeriod, iso_local, iso_space, iso_utc

TIKTOK_HEADER = ("Video title", "Video link", "Post time", "Total likes", "Total comments", "Total shares",
                 "Total views")
META_HEADER = ("Post ID", "Account ID", "Account username", "Account name", "Description", "Duration (sec)",
               "Publish time", "Permalink", "Post type", "Data comment", "Date", "Views", "Reach", "Likes",
               "Shares", "Follows", "Comments", "Saves")
NORMALIZED_HEADER = ("platform", "creator_id", "snapshot_at", "post_id", "post_url", "caption", "post_type",
                     "published_at", "duration_sec", "views", "reach", "likes", "comments", "shares", "saves",
                     "follows", "clicks")
LEGACY_META_DAYS = 14
"""The first days of a ``meta_utf16_legacy`` creator come as UTF-16 files with the old Impressions header."""


@dataclass
class CreatorFilesTruth:
    """What the creator writers learned while writing, for the truth file."""

    view_corrections: list[dict] = field(default_factory=list)
    export_gaps: list[dict] = field(default_factory=list)
    snapshot_rows: int = 0


# ----------------------------------------------------------------------------------------
# Roster
# ----------------------------------------------------------------------------------------
def write_roster(writer: LandingWriter, plans: list[CreatorPlan]) -> None:
    main = [p for p in plans if p.agency.style != 2]
    if main:
        writer.write_rows("creators", "creators/roster.csv",
                         ("agency_id", "agency_name", "agency_timezone", "creator_id", "creator_name",
                          "tiktok_handle", "instagram_handle"),
                         [(p.agency.agency_id, p.agency.name, p.agency.timezone, p.creator_id, p.name,
                           p.handles.get("tiktok"), p.handles.get("instagram")) for p in main])
    by_agency: dict[str, list[CreatorPlan]] = {}
    for p in plans:
        if p.agency.style == 2:
            by_agency.setdefault(p.agency.agency_id, []).append(p)
    for agency_id, members in by_agency.items():
        # The same roster with the header aliases an agency's own spreadsheet uses.
        writer.write_rows("creators", f"creators/{agency_id}_roster.csv",
                         ("agency", "agency_name", "tz", "creator", "display_name", "tiktok", "instagram"),
                         [(p.agency.agency_id, p.agency.name, p.agency.timezone, p.creator_id, p.name,
                           p.handles.get("tiktok"), p.handles.get("instagram")) for p in members])


# ----------------------------------------------------------------------------------------
# Post exports
# ----------------------------------------------------------------------------------------
def _file_name(plan: CreatorPlan, platform: str, style: str, snap_ts: np.datetime64) -> str:
    day = str(snap_ts)[:10]
    hhmm = str(snap_ts)[11:13] + str(snap_ts)[14:16]
    if style == "normalized":
        return f"social/{platform}/{plan.creator_id}/scheduler_export_{day.replace('-', '')}.csv"
    if style == "meta_dated":
        return f"social/{platform}/{plan.creator_id}/{day}.csv"
    if plan.file_naming == "prefix":
        return f"social/{platform}/{plan.creator_id}__{day}T{hhmm}Z.csv"
    if plan.file_naming == "folder_dashes":
        return f"social/{platform}/{plan.creator_id}/{day}T{str(snap_ts)[11:19].replace(':', '-')}.csv"
    return f"social/{platform}/{plan.creator_id}/{day}T{hhmm}Z.csv"


def write_post_exports(writer: LandingWriter, sim: CreatorSim, period: DemoPeriod,
                       export_window_days: int | None, truth: CreatorFilesTruth,
                       plant_bad_input: bool) -> dict[str, np.ndarray]:
    """Write every daily export of one creator; return the views per type as the exports show
    them (linear between snapshots), hour by hour, for the calibration expectation.

    The first two creators' TikTok exports carry a platform correction and an export gap
    (realistic data, not bad input). With ``plant_bad_input``, the first creator's exports are
    also delivered once more in files that cannot be attributed (see ``_plant_unresolvable``).
    """
    plan = sim.plan
    seen_by_type: dict[str, np.ndarray] = {}
    for platform in plan.platforms:
        style = plan.export_styles[platform]
        posts = sim.posts[sim.posts.platform == platform].reset_index(drop=True)
        table = snapshot_table(sim, platform, period, export_window_days)
        snaps_h = snapshot_hours(plan, platform, period)
        snaps_ts = period.timestamps(snaps_h)

        if plan.index in (0, 1) and platform == "tiktok":
            _plant_correction_and_gap(table, posts, snaps_ts, plan, platform, truth)
        table = table.sort_values(["snapshot_idx", "post_idx"], ascending=[True, False], kind="stable")
        _accumulate_seen_views(seen_by_type, table, posts, period)

        p = table.post_idx.to_numpy()
        published = period.timestamps(posts.published_h.to_numpy())
        posts["published_ts"] = published
        ts_space = iso_space(published)
        if style == "tiktok_studio":
            handle = plan.handles[platform]
            frame = pd.DataFrame({
                "Video title": posts.caption.to_numpy(dtype=object)[p],
                "Video link": ("https://www.tiktok.com/@" + handle + "/video/" + posts.post_id.astype(str))
                .to_numpy(dtype=object)[p],
                "Post time": ts_space[p],
                "Total likes": table.likes.to_numpy(),
                "Total comments": table.comments.to_numpy(),
                "Total shares": table.shares.to_numpy(),
                "Total views": table.views.to_numpy(),
            })
        elif style.startswith("meta"):
            frame = _meta_frame(plan, posts, table, p, snaps_ts, style)
        else:
            url = np.where(posts.platform == "tiktok",
                           "https://www.tiktok.com/@" + plan.handles[platform] + "/video/" + posts.post_id,
                           "https://www.instagram.com/reel/" + posts.post_id + "/")
            frame = pd.DataFrame({
                "platform": platform,
                "creator_id": plan.creator_id,
                "snapshot_at": iso_utc(snaps_ts)[table.snapshot_idx.to_numpy()],
                "post_id": posts.post_id.to_numpy(dtype=object)[p],
                "post_url": url[p],
                "caption": posts.caption.to_numpy(dtype=object)[p],
                "post_type": "video",
                "published_at": iso_utc(published)[p],
                "duration_sec": posts.duration_sec.to_numpy()[p],
                "views": table.views.to_numpy(),
                "reach": table.reach.to_numpy(),
                "likes": table.likes.to_numpy(),
                "comments": table.comments.to_numpy(),
                "shares": table.shares.to_numpy(),
                "saves": table.saves.to_numpy(),
                "follows": table.follows.to_numpy(),
                "clicks": table.clicks.to_numpy(),
            })
        lines = render_frame(frame)
        counts = np.bincount(table.snapshot_idx.to_numpy(), minlength=len(snaps_h))
        bounds = np.concatenate([[0], np.cumsum(counts)])
        for s in range(len(snaps_h)):
            body = lines[bounds[s]:bounds[s + 1]]
            rel = _file_name(plan, platform, style, snaps_ts[s])
            if style == "meta_utf16_legacy" and s < LEGACY_META_DAYS:
                header = tuple("Impressions" if h == "Views" else h for h in META_HEADER)
                writer.write_csv_lines("social_posts", rel, header, body, encoding="utf-16", sep_line=True)
            else:
                header = {"tiktok_studio": TIKTOK_HEADER, "normalized": NORMALIZED_HEADER}.get(style, META_HEADER)
                writer.write_csv_lines("social_posts", rel, header, body)
        truth.snapshot_rows += len(table)
        if plant_bad_input and plan.index == 0 and len(snaps_h) > 10:
            _plant_unresolvable(writer, style, platform, lines[bounds[10]:bounds[11]], snaps_ts[10])
    return seen_by_type


def _plant_unresolvable(writer: LandingWriter, style: str, platform: str, body: list[str],
                        snap_ts: np.datetime64) -> None:
    """Exports saved straight into the platform folder under the tool's default name.

    A TikTok ``Content_export.csv`` gives neither a creator nor a snapshot time; the ingest
    checks the snapshot time first, so its reason is ``no_snapshot_time``. A Meta export named
    only by its time gives no creator: ``no_creator``.
    """
    if style == "tiktok_studio":
        rel = f"social/{platform}/Content_export.csv"
        writer.write_csv_lines("social_posts", rel, TIKTOK_HEADER, body)
        writer.plant("social_posts", rel, None, Planted(
            "no_snapshot_time", "a TikTok export with neither a creator (folder, prefix, column) nor a snapshot "
                                "time (column, name); the snapshot time is checked first"))
    elif style == "meta":
        day = str(snap_ts)[:10]
        hhmm = str(snap_ts)[11:13] + str(snap_ts)[14:16]
        rel = f"social/{platform}/{day}T{hhmm}Z.csv"
        writer.write_csv_lines("social_posts", rel, META_HEADER, body)
        writer.plant("social_posts", rel, None, Planted(
            "no_creator", "a Meta export with a snapshot time in its name but no creator folder, prefix or column"))


def _meta_frame(plan: CreatorPlan, posts: pd.DataFrame, table: pd.DataFrame, p: np.ndarray,
                snaps_ts: np.ndarray, style: str) -> pd.DataFrame:
    handle = plan.handles["instagram"]
    n = len(posts)
    kind = np.where(np.arange(n) % 7 == 3, "IG carousel", np.where(np.arange(n) % 11 == 5, "IG image", "IG reel"))
    duration = np.where(kind == "IG reel", posts.duration_sec.to_numpy(), np.nan)
    account_id = str(luhn_invalid(np.array([17_841_400_000_000_000 + (plan.index * 7_919_113) % 10**9 * 10]))[0])
    publish = iso_local(posts.published_ts.to_numpy(), plan.agency.timezone)
    date_col = (np.datetime_as_string(snaps_ts, unit="D")[table.snapshot_idx.to_numpy()]
                if style == "meta_dated" else np.full(len(table), "Lifetime"))
    return pd.DataFrame({
        "Post ID": posts.post_id.to_numpy(dtype=object)[p],
        "Account ID": account_id,
        "Account username": handle,
        "Account name": plan.name,
        "Description": posts.caption.to_numpy(dtype=object)[p],
        "Duration (sec)": duration[p],
        "Publish time": publish[p],
        "Permalink": ("https://www.instagram.com/reel/" + posts.post_id + "/").to_numpy(dtype=object)[p],
        "Post type": kind[p],
        "Data comment": np.where(table.views.to_numpy() < 50, "Data may be incomplete for new posts", ""),
        "Date": date_col,
        "Views": table.views.to_numpy(),
        "Reach": table.reach.to_numpy(),
        "Likes": table.likes.to_numpy(),
        "Shares": table.shares.to_numpy(),
        "Follows": table.follows.to_numpy(),
        "Comments": table.comments.to_numpy(),
        "Saves": table.saves.to_numpy(),
    })


def _plant_correction_and_gap(table: pd.DataFrame, posts: pd.DataFrame, snaps_ts: np.ndarray,
                              plan: CreatorPlan, platform: str, truth: CreatorFilesTruth) -> None:
    """A platform correction (views reported lower than the day before) and a post that is
    missing from one export and back the next day. Neither is bad input: they load, and the
    delta logic must clamp the correction and not read the gap as a drop to zero."""
    counts = table.groupby("post_idx").size()
    candidates = counts[counts >= 6].index.to_numpy()
    in_period = posts.published_h.to_numpy()[candidates] > 24
    candidates = candidates[in_period]
    if candidates.size < 2:
        return
    post_c, post_g = int(candidates[0]), int(candidates[1])
    rows_c = table.index[table.post_idx == post_c].to_numpy()
    prev_views = int(table.at[rows_c[1], "views"])
    corrected = prev_views - max(1, round(prev_views * 0.02))
    table.at[rows_c[2], "views"] = corrected
    truth.view_corrections.append({
        "creator_id": plan.creator_id, "platform": platform, "post_id": str(posts.post_id[post_c]),
        "snapshot_at": str(snaps_ts[int(table.at[rows_c[2], "snapshot_idx"])]) + "Z",
        "views_reported": corrected, "views_previous_snapshot": prev_views,
    })
    rows_g = table.index[table.post_idx == post_g].to_numpy()
    truth.export_gaps.append({
        "creator_id": plan.creator_id, "platform": platform, "post_id": str(posts.post_id[post_g]),
        "missing_from_snapshot_at": str(snaps_ts[int(table.at[rows_g[3], "snapshot_idx"])]) + "Z",
    })
    table.drop(index=rows_g[3], inplace=True)


def _accumulate_seen_views(seen: dict[str, np.ndarray], table: pd.DataFrame, posts: pd.DataFrame,
                           period: DemoPeriod) -> None:
    """Hourly views per content type as the snapshots show them: each post's cumulative views
    are linear between (published, 0) and its snapshots, and flat after its last snapshot.

    Vectorised with ramps: a segment from ``(x_a, y_a)`` to ``(x_b, y_b)`` with slope ``s`` adds
    ``s * (max(t - x_a, 0) - max(t - x_b, 0))`` to the cumulative views at time ``t``, and
    ``sum_i w_i max(t - x_i, 0) = t * S1(t) - S2(t)`` with ``S1, S2`` the running sums of ``w_i``
    and ``w_i x_i`` over the knots before ``t``.
    """
    ordered = table.sort_values(["post_idx", "snapshot_h"], kind="stable")
    post = ordered.post_idx.to_numpy()
    x = ordered.snapshot_h.to_numpy(dtype=float)
    y = ordered.views.to_numpy(dtype=float)
    first = np.concatenate([[True], post[1:] != post[:-1]])
    # Monotone within each post (a correction is clamped, as the pipeline does).
    y = np.maximum.accumulate(y + post * 1e12) - post * 1e12
    x_prev = np.where(first, posts.published_h.to_numpy()[post], np.concatenate([[0.0], x[:-1]]))
    y_prev = np.where(first, 0.0, np.concatenate([[0.0], y[:-1]]))
    slope = (y - y_prev) / np.maximum(x - x_prev, 1e-9)
    ctype = posts.content_type.to_numpy(dtype=object)[post]
    edges = np.arange(period.hours + 1, dtype=float)
    for t in np.unique(ctype):
        sel = ctype == t
        knots = np.concatenate([x_prev[sel], x[sel]])
        weights = np.concatenate([slope[sel], -slope[sel]])
        bins = np.clip(np.ceil(knots), 0, period.hours + 1).astype(np.int64)  # knots before edge t: bin <= t
        s1 = np.cumsum(np.bincount(bins, weights=weights, minlength=period.hours + 2))[: period.hours + 1]
        s2 = np.cumsum(np.bincount(bins, weights=weights * knots, minlength=period.hours + 2))[: period.hours + 1]
        hourly = np.diff(edges * s1 - s2)
        seen[t] = seen[t] + hourly if t in seen else hourly


# ----------------------------------------------------------------------------------------
# Tags and links
# ----------------------------------------------------------------------------------------
def write_content_tags(writer: LandingWriter, period: DemoPeriod, plans: list[CreatorPlan],
                       posts: pd.DataFrame, rng: np.random.Generator, plant_bad_input: bool) -> None:
    """Manual tags, one file per agency, in the agency's header variant; not every post is tagged."""
    tagged = posts[posts.manual_tag].copy()
    tagged["tagged_h"] = tagged.published_h + rng.uniform(1, 30, len(tagged))
    tagged = tagged[tagged.tagged_h < period.hours].sort_values(["tagged_h", "post_id"], kind="stable")
    tagged["tagged_at"] = iso_utc(period.timestamps(tagged.tagged_h.to_numpy()))
    managers = np.array(["maria@agency", "tom@agency", "ops-bot"], dtype=object)
    tagged["tagged_by"] = managers[rng.integers(0, 3, len(tagged))]
    agency_of = {p.creator_id: p.agency.agency_id for p in plans}
    tagged["agency_id"] = tagged.creator_id.map(agency_of)
    planted_done = False
    for agency in dict.fromkeys(p.agency for p in plans):
        rows = tagged[tagged.agency_id == agency.agency_id]
        if rows.empty:
            continue
        planted: list[PlantedRow] = []
        if agency.style == 0:
            frame = rows[["platform", "post_id", "content_type", "creator_id", "tagged_by", "tagged_at"]]
            orphan = posts[~posts.manual_tag & posts.creator_id.isin(rows.creator_id)]
            if plant_bad_input and not planted_done and len(frame) > 10 and not orphan.empty:
                # A tag row with an empty type: the row is rejected, the rule suggestion stands.
                o = orphan.iloc[len(orphan) // 2]
                planted.append(PlantedRow(7, (o.platform, o.post_id, "", o.creator_id, "tom@agency",
                                              frame.tagged_at.iloc[6]),
                                          Planted("missing_required", "a tag row with an empty content type",
                                                  "content_type")))
                planted_done = True
        elif agency.style == 1:
            frame = rows[["post_id", "content_type", "creator_id", "tagged_at"]].rename(
                columns={"content_type": "category"})
        else:
            frame = rows[["platform", "post_id", "content_type", "tagged_by"]].rename(columns={"content_type": "type"})
        writer.write_frame("content_tags", f"content_tags/{agency.agency_id}_tags.csv", frame, planted=planted)


def make_link_codes(posts: pd.DataFrame, rng: np.random.Generator) -> pd.Series:
    """A unique 7-character tracking-link code for every post that carries a link."""
    linked = posts.index[posts.has_link]
    alphabet = np.frombuffer(b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789", dtype=np.uint8)
    codes = pd.unique(ascii_rows(alphabet[rng.integers(0, len(alphabet), (int(len(linked) * 1.1) + 8, 7))]))
    if len(codes) < len(linked):
        raise RuntimeError("not enough distinct link codes")
    return pd.Series(codes[: len(linked)], index=linked)


def write_tracking_links(writer: LandingWriter, period: DemoPeriod, plans: list[CreatorPlan],
                         posts: pd.DataFrame) -> None:
    linked = posts[posts.has_link].sort_values(["published_h", "post_id"], kind="stable")
    frame = pd.DataFrame({
        "link_code": linked.link_code, "creator_id": linked.creator_id, "platform": linked.platform,
        "post_id": linked.post_id, "content_type": linked.content_type,
        "created_at": iso_utc(period.timestamps(linked.published_h.to_numpy() - 0.25)),
    })
    style = {p.creator_id: p.agency.style for p in plans}
    lumen = (linked.creator_id.map(style) == 1).to_numpy()
    writer.write_frame("tracking_links", "tracking_links/links.csv", frame[~lumen])
    if lumen.any():
        # One agency keeps its own campaign sheet, with "campaign_code" for the code.
        writer.write_frame("tracking_links", "tracking_links/campaigns_lumen.csv",
                           frame[lumen].rename(columns={"link_code": "campaign_code"}))


# ----------------------------------------------------------------------------------------
# Subscribers and revenue
# ----------------------------------------------------------------------------------------
def _month_slices(period: DemoPeriod, ts: np.ndarray) -> Iterator[tuple[str, np.ndarray]]:
    for label, lo, hi in period.months():
        mask = (ts >= lo) & (ts < hi)
        if mask.any():
            yield label, mask


def write_subscribers(writer: LandingWriter, period: DemoPeriod, plans: list[CreatorPlan],
                      subs: pd.DataFrame, plant_bad_input: bool) -> None:
    """Monthly fan exports in three agency styles: one file per agency with a creator column,
    a folder per creator, or a ``<creator>__`` file-name prefix; link codes bare, as full
    ``?c=`` URLs, or absent."""
    subs = subs.assign(ts=period.timestamps(subs.subscribed_h.to_numpy()))
    handle = {p.creator_id: p.handles["tiktok"] for p in plans}
    currency = {p.creator_id: p.agency.currency for p in plans}
    price = pd.Series(money_text(subs.price.to_numpy()), index=subs.index)
    planted_kinds: set[str] = set()

    def plant_once(kind: str, condition: bool) -> bool:
        if plant_bad_input and condition and kind not in planted_kinds:
            planted_kinds.add(kind)
            return True
        return False

    for agency in dict.fromkeys(p.agency for p in plans):
        members = [p.creator_id for p in plans if p.agency == agency]
        rows = subs[subs.creator_id.isin(members)]
        if agency.style == 0:
            frame = pd.DataFrame({
                "creator_id": rows.creator_id, "Fan ID": rows.fan_id, "Username": rows.fan_username,
                "Subscribed at": iso_utc(rows.ts.to_numpy()), "Price": price[rows.index],
                "Currency": rows.creator_id.map(currency), "Campaign": rows.link_code,
            })
            previous: pd.DataFrame | None = None
            for label, mask in _month_slices(period, rows.ts.to_numpy()):
                part = frame[mask]
                planted: list[PlantedRow] = []
                if plant_once("missing_fan", len(part) > 20):
                    fake = part.iloc[[10]].assign(**{"Fan ID": "", "Username": "ghost_rider77", "Campaign": None})
                    planted.append(PlantedRow(11, fake, Planted("missing_required", "a subscriber without a fan id",
                                                                "fan_id")))
                if previous is not None and plant_once("overlap", True):
                    planted.append(PlantedRow(0, previous.iloc[[-1]], Planted(
                        "duplicate_row", "the last row of the previous month's export, exported again")))
                writer.write_frame("subscribers", f"subscribers/{agency.agency_id}_fans_{label}.csv", part,
                                   planted=planted)
                previous = part
            continue
        for creator_id in members:
            mine = rows[rows.creator_id == creator_id]
            if agency.style == 1:
                link = np.where(mine.link_code.notna(),
                                "https://onlyfans.com/" + handle[creator_id] + "?c=" + mine.link_code.fillna(""), "")
                frame = pd.DataFrame({
                    "User ID": mine.fan_id, "User name": mine.fan_username,
                    "Subscription date": iso_local(mine.ts.to_numpy(), agency.timezone),
                    "Subscription price": price[mine.index], "Currency": currency[creator_id], "Tracking link": link,
                })
            else:
                frame = pd.DataFrame({
                    "Subscriber ID": mine.fan_id, "Name": mine.fan_username, "Start date": iso_space(mine.ts.to_numpy()),
                    "Price": price[mine.index], "Referral code": mine.link_code,
                })
            for label, mask in _month_slices(period, mine.ts.to_numpy()):
                part = frame[mask]
                planted = []
                if agency.style == 1:
                    if plant_once("bad_ts", len(part) > 20):
                        fake = part.iloc[[5]].assign(**{"User ID": "u39999001", "User name": "night_owl_31",
                                                         "Subscription date": "2026-02-30T25:61:00+01:00",
                                                         "Tracking link": ""})
                        planted.append(PlantedRow(6, fake, Planted(
                            "invalid_timestamp", "a subscription time that is not a date", "subscribed_at")))
                    rel = f"subscribers/{creator_id}/{label}.csv"
                else:
                    if plant_once("exact_dup", len(part) > 20):
                        planted.append(PlantedRow(9, part.iloc[[8]], Planted(
                            "duplicate_row", "the same subscriber line twice in one export")))
                    rel = f"subscribers/{creator_id}__fans_{label}.csv"
                writer.write_frame("subscribers", rel, part, planted=planted)


def write_revenue(writer: LandingWriter, period: DemoPeriod, plans: list[CreatorPlan],
                  revenue: pd.DataFrame, plant_bad_input: bool) -> None:
    """Monthly earnings statements (Date, Amount, Fee, Net, Description) in three styles."""
    planted_kinds: set[str] = set()
    money = {c: pd.Series(money_text(revenue[c].to_numpy()), index=revenue.index) for c in ("amount", "fee", "net")}
    for plan in plans:
        mine = revenue[revenue.creator_id == plan.creator_id]
        ts = period.timestamps(mine.h.to_numpy())
        style = plan.agency.style
        amount, fee, net = (money[c][mine.index].to_numpy(dtype=object) for c in ("amount", "fee", "net"))
        desc = mine.description.to_numpy(dtype=object)
        if style == 0:
            frame = pd.DataFrame({"Date": iso_space(ts), "Amount": amount, "Fee": fee, "Net": net,
                                  "Description": desc})
        elif style == 1:
            frame = pd.DataFrame({"Date/Time": iso_local(ts, plan.agency.timezone), "Gross": amount, "Fee": fee,
                                  "Net": net, "Currency": plan.agency.currency, "Description": desc})
        else:
            frame = pd.DataFrame({"Created at": iso_utc(ts), "Amount": amount, "Fee": fee, "Net": net,
                                  "Description": desc})
        for label, mask in _month_slices(period, ts):
            part = frame[mask]
            planted: list[PlantedRow] = []
            if style == 0:
                rel = f"revenue/{plan.creator_id}/statement_{label}.csv"
                if plant_bad_input and "bad_amount" not in planted_kinds and len(part) > 20:
                    planted.append(PlantedRow(4, (part.Date.iloc[3], "12,99 $", "2.60", "10.39", "Tip from lucky_otter12"),
                                              Planted("invalid_number", "an amount in a local money format", "amount")))
                    planted_kinds.add("bad_amount")
                writer.write_frame("revenue", rel, part, planted=planted)
            elif style == 1:
                # This agency's spreadsheet exports carry a UTF-8 byte-order mark.
                writer.write_frame("revenue", f"revenue/{plan.creator_id}/{label}.csv", part, encoding="utf-8-sig")
            else:
                rel = f"revenue/{plan.creator_id}__earnings_{label}.csv"
                if plant_bad_input and "bad_date" not in planted_kinds and len(part) > 20:
                    planted.append(PlantedRow(15, ("13/31/2026 10:00", "5.00", "1.00", "4.00", "Tip from brave_lynx408"),
                                              Planted("invalid_timestamp", "a US-style date with month 13",
                                                      "occurred_at")))
                    planted_kinds.add("bad_date")
                writer.write_frame("revenue", rel, part, planted=planted)


def write_confounders(writer: LandingWriter, period: DemoPeriod, plans: list[CreatorPlan],
                      plant_bad_input: bool) -> list[dict]:
    rows = []
    truth = []
    for plan in plans:
        for c in plan.confounders:
            lo, hi = iso_utc(period.timestamps(np.array([c.start_h, c.end_h])))
            rows.append((c.creator_id, c.confounder_type, str(lo), str(hi), c.description))
            truth.append({"creator_id": c.creator_id, "confounder_type": c.confounder_type,
                          "starts_at": str(lo), "ends_at": str(hi),
                          "extra_subscribers_per_day": round(c.extra_per_day, 4), "description": c.description})
    rows.sort(key=lambda r: (r[2], r[0]))
    truth.sort(key=lambda r: (r["starts_at"], r["creator_id"]))
    planted = []
    if plant_bad_input and rows:
        first = rows[0]
        planted.append(PlantedRow(1, (first[0], "giveaway", first[2], first[3], "Giveaway with a partner brand"),
                                  Planted("invalid_value", "a confounder type outside the vocabulary",
                                          "confounder_type")))
    writer.write_rows("confounders", "confounders/confounders.csv",
                      ("creator_id", "type", "start", "end", "description"), rows, planted=planted)
    return truth


def calibration_expectation(sims: list[CreatorSim], seen: dict[str, dict[str, np.ndarray]]) -> dict:
    """The calibration backtest the planted data implies: for link subscribers, the dominant
    type by view share in the 48 h before subscribing against the link's true type, from the
    true hourly views (``true_views``) and from the views as daily snapshots show them, linear
    in between (``snapshot_views``: what the pipeline can see)."""
    out: dict = {"lag_hours": 48, "per_creator": {}}
    totals = {"true_views": [0, 0], "snapshot_views": [0, 0]}
    for sim in sims:
        row = {}
        for key, views in (("true_views", sim.hourly_views_by_type), ("snapshot_views", seen[sim.plan.creator_id])):
            m, n = dominant_type_match(sim, views)
            totals[key][0] += m
            totals[key][1] += n
            row[key] = round(m / n, 4) if n else None
            row["link_subscribers"] = n
        out["per_creator"][sim.plan.creator_id] = row
    for key, (m, n) in totals.items():
        out[key] = round(m / n, 4) if n else None
    out["link_subscribers"] = totals["true_views"][1]
    return out
