"""Offline-conversion payloads for the Meta Conversions API and the GA4 Measurement Protocol.

Conversions go back to the ad platforms so they can match them to ad clicks. This module shapes
them; it never reads clear-text PII: staging keeps e-mails and phones only as normalised SHA-256
hex (``stg_marketing__conversions.email_sha256`` / ``phone_sha256`` / ``phone_e164_sha256``),
and the normalisers below are the Python twins of the dbt macros ``normalize_email`` and
``normalize_phone`` (``dbt_project/macros/normalize.sql``), used to check them against the
platforms' documented vectors and for callers that hold clear values.

Normalisation before hashing (Meta "customer information parameters"; Google "user-provided data"):

- e-mail: trimmed and lower-cased (Meta: ``John_Smith@gmail.com`` -> SHA-256 ``62a14e44...``).
  Google also removes the dots before ``@`` in gmail.com / googlemail.com addresses; staging does
  not (yet), so GA4 gets the Meta form unless the conversions carry ``email_google_sha256``.
- phone: digits only with the country code, no ``+``, no international ``00`` (Meta ``ph``:
  US ``(650)555-1212`` -> ``16505551212`` -> ``e323ec62...``); GA4 wants E.164 with the ``+``.

Shapes (one JSON object per request):

- Meta: ``POST https://graph.facebook.com/<version>/<pixel_id>/events`` with
  ``{"data": [event, ...]}`` (at most 1,000 events), each event ``{event_name, event_time (unix s),
  event_id, action_source, user_data: {em: [...], ph: [...], external_id: [...]}, custom_data:
  {value, currency, order_id}}``. ``event_id`` (the conversion id) lets Meta drop the duplicate of
  a browser Pixel event with the same id.
- GA4: ``POST https://www.google-analytics.com/mp/collect?measurement_id=...&api_secret=...``
  with ``{client_id, user_id, timestamp_micros, user_data: {sha256_email_address: [...],
  sha256_phone_number: [...]}, events: [{name, params: {transaction_id, value, currency}}]}``;
  GA4 de-duplicates purchases by ``transaction_id``.

Sending is opt-in: :func:`send_payload_files` does nothing unless ``enabled``, and only reports
what it would send with ``dry_run`` (the default). Credentials come from the environment and
never reach the payload files.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

META_MAX_EVENTS_PER_REQUEST = 1000
META_API_VERSION = "v21.0"
META_ACTION_SOURCES = ("website", "app", "email", "phone_call", "chat", "physical_store",
                       "system_generated", "business_messaging", "other")
META_EVENT_NAMES = {"purchase": "Purchase", "signup": "CompleteRegistration", "sign_up": "CompleteRegistration",
                    "lead": "Lead", "subscribe": "Subscribe", "subscription": "Subscribe",
                    "start_trial": "StartTrial", "contact": "Contact"}
GA4_EVENT_NAMES = {"purchase": "purchase", "signup": "sign_up", "sign_up": "sign_up", "lead": "generate_lead",
                   "refund": "refund"}
GA4_ENDPOINT = "https://www.google-analytics.com/mp/collect"
REQUIRED_COLUMNS = ("conversion_id", "user_key", "converted_at", "conversion_type")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_E164_DIGITS = re.compile(r"[1-9][0-9]{7,14}")


# ---------------------------------------------------------------------------------------
# Normalisation and hashing (Python twins of dbt_project/macros/normalize.sql)
# ---------------------------------------------------------------------------------------
def sha256_hex(text: str) -> str:
    """Lower-case hex SHA-256 of the UTF-8 bytes of ``text``."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def normalize_email(email: str | None) -> str | None:
    """Trimmed, lower-cased e-mail (Meta ``em``); ``None`` when it is not shaped like an address."""
    if email is None:
        return None
    text = str(email).strip().lower()
    return text if _EMAIL.fullmatch(text) else None


def normalize_email_google(email: str | None) -> str | None:
    """Google's form: as :func:`normalize_email`, and no dots before ``@`` for gmail.com / googlemail.com."""
    text = normalize_email(email)
    if text is None:
        return None
    local, _, domain = text.rpartition("@")
    if domain in ("gmail.com", "googlemail.com"):
        local = local.replace(".", "")
    return f"{local}@{domain}"


def normalize_phone(phone: str | None, default_country_code: str | int | None = None) -> str | None:
    """Digits with the country code and no ``+`` (Meta ``ph``), or ``None`` if not 8-15 digits.

    Symbols and letters go; ``+44 ...`` and ``0044 ...`` both give ``44...``. A number written
    without ``+`` / ``00`` is taken to carry its country code, unless ``default_country_code`` is
    given: then one national trunk ``0`` is dropped and the code is prefixed (as the dbt var
    ``phone_default_country_code`` does in staging).
    """
    if phone is None:
        return None
    raw = str(phone).strip()
    digits = re.sub(r"[^0-9]", "", raw)
    if raw.startswith("+"):
        international = digits
    elif digits.startswith("00"):
        international = digits[2:]
    elif default_country_code:
        international = str(default_country_code).replace("+", "").strip() + re.sub(r"^0", "", digits)
    else:
        international = digits
    return international if _E164_DIGITS.fullmatch(international) else None


def hashed_email(email: str | None) -> str | None:
    normalized = normalize_email(email)
    return None if normalized is None else sha256_hex(normalized)


def hashed_phone(phone: str | None, default_country_code: str | int | None = None) -> str | None:
    normalized = normalize_phone(phone, default_country_code)
    return None if normalized is None else sha256_hex(normalized)


# ---------------------------------------------------------------------------------------
# Payloads
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OfflineConversionPayloads:
    """Request bodies for both platforms, and what was left out and why."""

    meta_requests: list[dict[str, Any]]
    ga4_requests: list[dict[str, Any]]
    skipped: dict[str, int] = field(default_factory=dict)
    caveats: list[str] = field(default_factory=list)

    @property
    def meta_events(self) -> int:
        return sum(len(r["data"]) for r in self.meta_requests)

    @property
    def ga4_events(self) -> int:
        return sum(len(r["events"]) for r in self.ga4_requests)


def ga4_event_name(conversion_type: str) -> str:
    """GA4 name: a recommended event where one fits, else letters, digits and '_' (max 40, starts with a letter)."""
    if conversion_type in GA4_EVENT_NAMES:
        return GA4_EVENT_NAMES[conversion_type]
    name = re.sub(r"[^a-z0-9_]+", "_", str(conversion_type).lower()).strip("_")
    if not name or not name[0].isalpha():
        name = f"conversion_{name}".rstrip("_")
    return name[:40]


def meta_event_name(conversion_type: str) -> str:
    """Meta standard event where one fits (Purchase, CompleteRegistration, Lead, ...), else the type itself."""
    return META_EVENT_NAMES.get(conversion_type, str(conversion_type))


def _hash_list(value: object) -> list[str]:
    return [value] if isinstance(value, str) and _HEX64.fullmatch(value) else []


def build_offline_conversion_payloads(
    conversions: pd.DataFrame,
    *,
    action_source: str = "system_generated",
    test_event_code: str | None = None,
    batch_size: int = META_MAX_EVENTS_PER_REQUEST,
) -> OfflineConversionPayloads:
    """Meta CAPI and GA4 MP request bodies for ``conversions`` (rows of stg_marketing__conversions).

    Columns: ``conversion_id``, ``user_key``, ``converted_at`` (naive UTC), ``conversion_type``,
    and optionally ``value``, ``currency``, ``email_sha256``, ``phone_sha256`` (Meta form),
    ``phone_e164_sha256`` and ``email_google_sha256`` (GA4 forms). Refunds (negative values) are
    not conversions and are skipped; so is a valued conversion without a currency, which both
    platforms reject. ``event_id`` / ``transaction_id`` is the conversion id, for de-duplication.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in conversions.columns]
    if missing:
        raise ValueError(f"conversions is missing the column(s) {missing}; expected {list(REQUIRED_COLUMNS)}")
    if action_source not in META_ACTION_SOURCES:
        raise ValueError(f"unknown Meta action_source {action_source!r}; expected one of {META_ACTION_SOURCES}")
    if not 1 <= batch_size <= META_MAX_EVENTS_PER_REQUEST:
        raise ValueError(f"batch_size must be 1 to {META_MAX_EVENTS_PER_REQUEST}, got {batch_size}")
    frame = conversions.copy()
    for column in ("value", "currency", "email_sha256", "phone_sha256", "phone_e164_sha256", "email_google_sha256"):
        if column not in frame:
            frame[column] = None
    if frame["conversion_id"].isna().any() or frame["converted_at"].isna().any():
        raise ValueError("every conversion needs a conversion_id and a converted_at")
    value = pd.to_numeric(frame["value"], errors="coerce")
    refund = value < 0
    no_currency = value.notna() & (value != 0) & frame["currency"].isna()
    skipped = {"refund_or_negative_value": int(refund.sum()), "value_without_currency": int((no_currency & ~refund).sum())}
    frame = frame[~refund & ~no_currency]
    value = value[frame.index]
    seconds = (pd.to_datetime(frame["converted_at"]).astype("datetime64[us]").astype("int64") // 1_000_000)
    frame = frame.assign(_value=value, _seconds=seconds.to_numpy())

    meta_events, ga4_requests = [], []
    for row in frame.to_dict("records"):  # JSON payloads are per conversion by nature
        has_value = row["_value"] is not None and not np.isnan(row["_value"])
        custom = {"order_id": row["conversion_id"]}
        if has_value:
            custom.update(value=float(row["_value"]), currency=str(row["currency"]).upper())
        user_data = {"em": _hash_list(row["email_sha256"]), "ph": _hash_list(row["phone_sha256"]),
                     "external_id": _hash_list(row["user_key"])}
        meta_events.append({
            "event_name": meta_event_name(row["conversion_type"]),
            "event_time": int(row["_seconds"]),
            "event_id": str(row["conversion_id"]),
            "action_source": action_source,
            "user_data": {k: v for k, v in user_data.items() if v},
            "custom_data": custom,
        })
        params: dict[str, Any] = {"transaction_id": str(row["conversion_id"])}
        if has_value:
            params.update(value=float(row["_value"]), currency=str(row["currency"]).upper())
        ga4_user = {
            "sha256_email_address": _hash_list(row["email_google_sha256"]) or _hash_list(row["email_sha256"]),
            "sha256_phone_number": _hash_list(row["phone_e164_sha256"]),
        }
        request: dict[str, Any] = {
            "client_id": str(row["user_key"]),
            "user_id": str(row["user_key"]),
            "timestamp_micros": int(row["_seconds"]) * 1_000_000,
            "events": [{"name": ga4_event_name(row["conversion_type"]), "params": params}],
        }
        if any(ga4_user.values()):
            request["user_data"] = {k: v for k, v in ga4_user.items() if v}
        ga4_requests.append(request)

    meta_requests = []
    for start in range(0, len(meta_events), batch_size):
        body: dict[str, Any] = {"data": meta_events[start:start + batch_size]}
        if test_event_code:
            body["test_event_code"] = test_event_code
        meta_requests.append(body)
    caveats = []
    if "email_google_sha256" not in conversions.columns or conversions["email_google_sha256"].isna().all():
        caveats.append("GA4 sha256_email_address uses the trimmed, lower-cased e-mail; Google also drops the "
                       "dots of gmail.com local parts, so such addresses may not match")
    caveats.append("client_id / user_id are the pseudonymous FunnelLens user keys, not GA cookie client ids")
    return OfflineConversionPayloads(meta_requests, ga4_requests, skipped, caveats)


def write_payload_files(payloads: OfflineConversionPayloads, out_dir: Path) -> dict[str, Path]:
    """Write ``meta_capi.json``, ``ga4_mp.ndjson`` and ``manifest.json`` under ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    meta = out_dir / "meta_capi.json"
    meta.write_text(json.dumps({"requests": payloads.meta_requests}, indent=1), encoding="utf-8")
    ga4 = out_dir / "ga4_mp.ndjson"
    ga4.write_text("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in payloads.ga4_requests),
                   encoding="utf-8")
    manifest = out_dir / "manifest.json"
    manifest.write_text(json.dumps({
        "meta_requests": len(payloads.meta_requests), "meta_events": payloads.meta_events,
        "ga4_requests": len(payloads.ga4_requests), "ga4_events": payloads.ga4_events,
        "skipped": payloads.skipped, "caveats": payloads.caveats,
    }, indent=1), encoding="utf-8")
    return {"meta": meta, "ga4": ga4, "manifest": manifest}


# ---------------------------------------------------------------------------------------
# Sending (opt-in)
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OfflineConversionSettings:
    """Whether and where to send. Off and dry-run by default."""

    enabled: bool = False
    dry_run: bool = True
    meta_pixel_id: str | None = None
    meta_access_token: str | None = None
    meta_api_version: str = META_API_VERSION
    ga4_measurement_id: str | None = None
    ga4_api_secret: str | None = None

    @classmethod
    def from_env(cls, *, enabled: bool = False, dry_run: bool = True) -> OfflineConversionSettings:
        """Credentials from ``FUNNELLENS_META_PIXEL_ID``, ``FUNNELLENS_META_ACCESS_TOKEN``,
        ``FUNNELLENS_META_API_VERSION``, ``FUNNELLENS_GA4_MEASUREMENT_ID``, ``FUNNELLENS_GA4_API_SECRET``."""
        env = os.environ.get
        return cls(enabled=enabled, dry_run=dry_run, meta_pixel_id=env("FUNNELLENS_META_PIXEL_ID") or None,
                   meta_access_token=env("FUNNELLENS_META_ACCESS_TOKEN") or None,
                   meta_api_version=env("FUNNELLENS_META_API_VERSION") or META_API_VERSION,
                   ga4_measurement_id=env("FUNNELLENS_GA4_MEASUREMENT_ID") or None,
                   ga4_api_secret=env("FUNNELLENS_GA4_API_SECRET") or None)


@dataclass(frozen=True)
class SendReport:
    sent: dict[str, int]
    statuses: list[int]
    summary: str


Transport = Callable[[str, bytes], int]
"""POSTs a JSON body to a URL and returns the HTTP status."""


def _urllib_transport(url: str, body: bytes) -> int:  # pragma: no cover - real network, never in tests
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return int(response.status)


def send_payload_files(
    files: dict[str, Path], settings: OfflineConversionSettings, transport: Transport | None = None
) -> SendReport:
    """Send the written payload files when ``settings.enabled`` and not ``dry_run``.

    A platform without credentials is skipped and said so. Nothing is sent by default.
    """
    meta_requests = json.loads(Path(files["meta"]).read_text(encoding="utf-8"))["requests"]
    ga4_requests = [json.loads(line) for line in Path(files["ga4"]).read_text(encoding="utf-8").splitlines() if line]
    counts = f"{len(meta_requests)} Meta CAPI request(s), {len(ga4_requests)} GA4 MP request(s)"
    if not settings.enabled:
        return SendReport({}, [], f"sending disabled (opt-in): wrote {counts}, sent nothing")
    if settings.dry_run:
        return SendReport({}, [], f"dry run: would send {counts}; nothing left the machine")
    post = transport or _urllib_transport
    sent, statuses, notes = {"meta": 0, "ga4": 0}, [], []
    if settings.meta_pixel_id and settings.meta_access_token:
        url = (f"https://graph.facebook.com/{settings.meta_api_version}/"
               f"{urllib.parse.quote(settings.meta_pixel_id)}/events?"
               + urllib.parse.urlencode({"access_token": settings.meta_access_token}))
        for body in meta_requests:
            statuses.append(post(url, json.dumps(body).encode("utf-8")))
            sent["meta"] += 1
    else:
        notes.append("Meta skipped: FUNNELLENS_META_PIXEL_ID / FUNNELLENS_META_ACCESS_TOKEN not set")
    if settings.ga4_measurement_id and settings.ga4_api_secret:
        url = GA4_ENDPOINT + "?" + urllib.parse.urlencode(
            {"measurement_id": settings.ga4_measurement_id, "api_secret": settings.ga4_api_secret})
        for body in ga4_requests:
            statuses.append(post(url, json.dumps(body).encode("utf-8")))
            sent["ga4"] += 1
    else:
        notes.append("GA4 skipped: FUNNELLENS_GA4_MEASUREMENT_ID / FUNNELLENS_GA4_API_SECRET not set")
    failed = sum(1 for s in statuses if not 200 <= s < 300)
    summary = f"sent {sent['meta']} Meta and {sent['ga4']} GA4 request(s), {failed} failed"
    return SendReport(sent, statuses, "; ".join([summary, *notes]))


def validate_meta_request(body: dict[str, Any]) -> list[str]:
    """Problems with a Meta CAPI request body (empty when it has the documented shape)."""
    problems = []
    data = body.get("data")
    if not isinstance(data, list) or not 1 <= len(data) <= META_MAX_EVENTS_PER_REQUEST:
        return [f"data must be a list of 1 to {META_MAX_EVENTS_PER_REQUEST} events"]
    for i, event in enumerate(data):
        for key, kind in (("event_name", str), ("event_time", int), ("event_id", str), ("action_source", str),
                          ("user_data", dict)):
            if not isinstance(event.get(key), kind):
                problems.append(f"event {i}: {key} must be a {kind.__name__}")
        if event.get("action_source") not in META_ACTION_SOURCES:
            problems.append(f"event {i}: unknown action_source {event.get('action_source')!r}")
        user = event.get("user_data") or {}
        if not user:
            problems.append(f"event {i}: user_data needs at least one identifier")
        for key in ("em", "ph", "external_id"):
            if key in user and not all(isinstance(h, str) and _HEX64.fullmatch(h) for h in user[key]):
                problems.append(f"event {i}: user_data.{key} must hold SHA-256 hex strings")
        if event.get("event_name") == "Purchase":
            custom = event.get("custom_data") or {}
            if not isinstance(custom.get("value"), float) or not isinstance(custom.get("currency"), str):
                problems.append(f"event {i}: a Purchase needs custom_data.value and currency")
    return problems


def validate_ga4_request(body: dict[str, Any]) -> list[str]:
    """Problems with a GA4 Measurement Protocol request body (empty when well-formed)."""
    problems = []
    if not isinstance(body.get("client_id"), str) or not body["client_id"]:
        problems.append("client_id is required")
    if not isinstance(body.get("timestamp_micros"), int):
        problems.append("timestamp_micros must be an integer")
    events = body.get("events")
    if not isinstance(events, list) or not 1 <= len(events) <= 25:
        return [*problems, "events must be a list of 1 to 25 events"]
    for i, event in enumerate(events):
        name = event.get("name", "")
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,39}", str(name)):
            problems.append(f"event {i}: name {name!r} must start with a letter and hold letters, digits, '_'")
        params = event.get("params") or {}
        if "value" in params and not isinstance(params.get("currency"), str):
            problems.append(f"event {i}: a value needs a currency")
    for key in ("sha256_email_address", "sha256_phone_number"):
        values: Sequence[str] = (body.get("user_data") or {}).get(key, [])
        if not all(isinstance(h, str) and _HEX64.fullmatch(h) for h in values):
            problems.append(f"user_data.{key} must hold SHA-256 hex strings")
    return problems
