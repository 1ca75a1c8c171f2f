"""Offline-conversion payloads (issue 4.6): normalisation and hashing against the platforms'
documented vectors, the Meta CAPI and GA4 MP shapes, and opt-in sending that never leaves the
machine in tests."""

from __future__ import annotations

import json
import socket
import urllib.request
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from funnellens.offline_conversions import (
    META_MAX_EVENTS_PER_REQUEST,
    OfflineConversionSettings,
    build_offline_conversion_payloads,
    ga4_event_name,
    hashed_email,
    hashed_phone,
    normalize_email,
    normalize_email_google,
    normalize_phone,
    send_payload_files,
    sha256_hex,
    validate_ga4_request,
    validate_meta_request,
    write_payload_files,
)

# Meta, "Customer information parameters" (Conversions API): input -> expected SHA-256.
META_EMAIL = ("John_Smith@gmail.com", "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f")
META_PHONE_US = ("(650)555-1212", "e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176")
# Snap Conversions API parameters (the same normalisation): e-mail and a UK phone.
SNAP_EMAIL = ("Person@Example.com", "542d240129883c019e106e3b1b2d3f3cb3537c43c425364de8e951d5a3083345")
SNAP_PHONE_UK = ("+44 844 412 4653", "dc008fda46e2e64002cf2f82a4906236282d431c4f75e5b60bfe79fc48546383")


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a connection fails the test: nothing leaves the machine."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args[:1]}")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_documented_hash_vectors() -> None:
    assert hashed_email(META_EMAIL[0]) == META_EMAIL[1]
    assert hashed_email(f"  {META_EMAIL[0].upper()} ") == META_EMAIL[1]
    assert normalize_phone(META_PHONE_US[0], default_country_code=1) == "16505551212"
    assert hashed_phone(META_PHONE_US[0], default_country_code="+1") == META_PHONE_US[1]
    assert hashed_phone("+1 (650) 555-1212") == META_PHONE_US[1]
    assert hashed_phone("001 650 555 1212") == META_PHONE_US[1]
    assert hashed_email(SNAP_EMAIL[0]) == SNAP_EMAIL[1]
    assert normalize_phone(SNAP_PHONE_UK[0]) == "448444124653"
    assert hashed_phone(SNAP_PHONE_UK[0]) == SNAP_PHONE_UK[1]


def test_normalisation_rules_and_rejections() -> None:
    assert normalize_email("not-an-email") is None
    assert normalize_email("a@b") is None
    assert normalize_email(None) is None
    assert normalize_email_google(" John.Smith@GMail.com ") == "johnsmith@gmail.com"
    assert normalize_email_google("john.smith@example.com") == "john.smith@example.com"
    # A national number with a trunk 0 and a default country code (as the dbt var does).
    assert normalize_phone("020 7946 0018", default_country_code=44) == "442079460018"
    assert normalize_phone("0044 20 7946 0018") == "442079460018"
    assert normalize_phone("12345") is None  # too short for E.164
    assert normalize_phone("+0 123 456 789") is None  # no country code starts with 0
    assert sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def _conversions() -> pd.DataFrame:
    return pd.DataFrame({
        "conversion_id": ["o1", "o2", "o3", "r1", "o4"],
        "user_key": ["a" * 64, "b" * 64, "c" * 64, "d" * 64, "e" * 64],
        "converted_at": [datetime(2026, 3, 5, 9), datetime(2026, 3, 6, 10, 30), datetime(2026, 3, 7),
                         datetime(2026, 3, 8), datetime(2026, 3, 9)],
        "conversion_type": ["purchase", "signup", "Add Payment-Info", "purchase", "purchase"],
        "value": [50.0, None, 0.0, -50.0, 12.5],
        "currency": ["usd", None, None, "USD", None],  # o4 has a value but no currency
        "email_sha256": [META_EMAIL[1], None, None, None, None],
        "phone_sha256": [META_PHONE_US[1], None, "not-a-hash", None, None],
        "phone_e164_sha256": [sha256_hex("+16505551212"), None, None, None, None],
    })


def test_meta_payload_shape_dedup_and_hashes() -> None:
    payloads = build_offline_conversion_payloads(_conversions())
    assert payloads.skipped == {"refund_or_negative_value": 1, "value_without_currency": 1}
    assert len(payloads.meta_requests) == 1
    body = payloads.meta_requests[0]
    assert validate_meta_request(body) == []
    events = {e["event_id"]: e for e in body["data"]}
    assert set(events) == {"o1", "o2", "o3"}
    purchase = events["o1"]
    assert purchase == {
        "event_name": "Purchase",
        "event_time": int(datetime(2026, 3, 5, 9).timestamp() - datetime(1970, 1, 1).timestamp()),
        "event_id": "o1",
        "action_source": "system_generated",
        "user_data": {"em": [META_EMAIL[1]], "ph": [META_PHONE_US[1]], "external_id": ["a" * 64]},
        "custom_data": {"order_id": "o1", "value": 50.0, "currency": "USD"},
    }
    assert purchase["event_time"] == 1772701200  # 2026-03-05T09:00:00Z
    assert events["o2"]["event_name"] == "CompleteRegistration"
    assert "value" not in events["o2"]["custom_data"]
    assert events["o3"]["user_data"] == {"external_id": ["c" * 64]}  # a malformed hash is never sent


def test_ga4_payload_shape() -> None:
    payloads = build_offline_conversion_payloads(_conversions())
    requests = {r["events"][0]["params"]["transaction_id"]: r for r in payloads.ga4_requests}
    assert set(requests) == {"o1", "o2", "o3"}
    for body in requests.values():
        assert validate_ga4_request(body) == []
    o1 = requests["o1"]
    assert o1 == {
        "client_id": "a" * 64,
        "user_id": "a" * 64,
        "timestamp_micros": 1772701200 * 1_000_000,
        "events": [{"name": "purchase", "params": {"transaction_id": "o1", "value": 50.0, "currency": "USD"}}],
        "user_data": {"sha256_email_address": [META_EMAIL[1]],
                      "sha256_phone_number": [sha256_hex("+16505551212")]},
    }
    assert requests["o2"]["events"][0]["name"] == "sign_up"
    assert "user_data" not in requests["o2"]
    assert requests["o3"]["events"][0]["name"] == "add_payment_info"
    assert ga4_event_name("9lives") == "conversion_9lives"
    assert any("gmail" in c for c in payloads.caveats)


def test_meta_requests_are_batched_and_test_event_code_passes_through() -> None:
    many = pd.DataFrame({
        "conversion_id": [f"o{i}" for i in range(2500)], "user_key": ["f" * 64] * 2500,
        "converted_at": [datetime(2026, 3, 1)] * 2500, "conversion_type": ["lead"] * 2500,
    })
    payloads = build_offline_conversion_payloads(many, test_event_code="TEST123")
    assert [len(r["data"]) for r in payloads.meta_requests] == [1000, 1000, 500]
    assert all(r["test_event_code"] == "TEST123" for r in payloads.meta_requests)
    assert payloads.meta_events == payloads.ga4_events == 2500
    with pytest.raises(ValueError, match="batch_size"):
        build_offline_conversion_payloads(many, batch_size=META_MAX_EVENTS_PER_REQUEST + 1)
    with pytest.raises(ValueError, match="action_source"):
        build_offline_conversion_payloads(many, action_source="carrier_pigeon")
    with pytest.raises(ValueError, match="missing the column"):
        build_offline_conversion_payloads(many.drop(columns="user_key"))


def test_validators_catch_bad_shapes() -> None:
    assert validate_meta_request({"data": []})
    bad = {"data": [{"event_name": "Purchase", "event_time": "yesterday", "event_id": "x",
                     "action_source": "website", "user_data": {"em": ["john@example.com"]}}]}
    problems = validate_meta_request(bad)
    assert any("event_time" in p for p in problems)
    assert any("SHA-256" in p for p in problems)
    assert any("Purchase" in p for p in problems)
    assert validate_ga4_request({"client_id": "", "timestamp_micros": 1, "events": [{"name": "1bad"}]})


def test_sending_is_off_by_default_and_dry_run_sends_nothing(tmp_path: Path) -> None:
    files = write_payload_files(build_offline_conversion_payloads(_conversions()), tmp_path)
    manifest = json.loads(files["manifest"].read_text())
    assert manifest["meta_events"] == 3 and manifest["ga4_requests"] == 3
    calls = []

    def transport(url: str, body: bytes) -> int:
        calls.append((url, json.loads(body)))
        return 200

    off = send_payload_files(files, OfflineConversionSettings(), transport)
    assert "disabled" in off.summary and calls == []
    dry = send_payload_files(files, OfflineConversionSettings(enabled=True, dry_run=True,
                                                              meta_pixel_id="1", meta_access_token="t"), transport)
    assert "dry run" in dry.summary and calls == []


def test_enabled_sender_posts_every_request_to_the_documented_endpoints(tmp_path: Path) -> None:
    files = write_payload_files(build_offline_conversion_payloads(_conversions()), tmp_path)
    calls = []

    def transport(url: str, body: bytes) -> int:
        calls.append((url, json.loads(body)))
        return 200

    settings = OfflineConversionSettings(enabled=True, dry_run=False, meta_pixel_id="123", meta_access_token="tok",
                                         ga4_measurement_id="G-ABC", ga4_api_secret="sec")
    report = send_payload_files(files, settings, transport)
    assert report.sent == {"meta": 1, "ga4": 3}
    assert calls[0][0] == "https://graph.facebook.com/v21.0/123/events?access_token=tok"
    assert calls[0][1]["data"][0]["event_id"] == "o1"
    assert calls[1][0] == "https://www.google-analytics.com/mp/collect?measurement_id=G-ABC&api_secret=sec"
    # Credentials never reach the files.
    assert "tok" not in files["meta"].read_text() and "sec" not in files["ga4"].read_text()

    partial = send_payload_files(files, OfflineConversionSettings(enabled=True, dry_run=False), transport)
    assert partial.sent == {"meta": 0, "ga4": 0} and "not set" in partial.summary


def test_settings_read_credentials_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FUNNELLENS_META_PIXEL_ID", "999")
    monkeypatch.setenv("FUNNELLENS_GA4_MEASUREMENT_ID", "G-XYZ")
    settings = OfflineConversionSettings.from_env()
    assert settings.meta_pixel_id == "999" and settings.ga4_measurement_id == "G-XYZ"
    assert settings.enabled is False and settings.dry_run is True
