"""PII scrubbing, person-id hashing and the PII scan.

The Python scrubber (``re``), the vectorised one (RE2 through pyarrow) and the DuckDB SQL one
(RE2) are checked against each other on a generated corpus built to stress the rules' edges.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from funnellens import privacy
from funnellens.config import MissingSaltError
from funnellens.privacy import (
    FLAG_KINDS,
    MAX_TEXT_LENGTH,
    hash_person_id,
    hash_person_ids,
    is_secret_key,
    json_may_contain_pii,
    luhn_valid,
    mask_example,
    pii_scan,
    register_duckdb_scrubbers,
    scrub_json,
    scrub_json_text,
    scrub_json_texts,
    scrub_series,
    scrub_sql_macros,
    scrub_text,
    scrub_text_sql,
)


@pytest.fixture
def con():
    connection = duckdb.connect()
    register_duckdb_scrubbers(connection)
    yield connection
    connection.close()


def luhn_reference(number: str) -> bool:
    """Luhn written differently: double every second digit from the right, add the digit sums."""
    digits = [int(c) for c in number if c.isascii() and c.isdigit()]
    if not digits:
        return False
    checksum = 0
    for position, digit in enumerate(digits[::-1]):
        product = digit * (2 if position % 2 else 1)
        checksum += sum(int(c) for c in str(product))
    return checksum % 10 == 0


def with_check_digit(body: str) -> str:
    """Append the digit that makes ``body`` Luhn-valid."""
    return body + next(str(d) for d in range(10) if luhn_reference(body + str(d)))


# ---------------------------------------------------------------------------------------
# The rules, one by one
# ---------------------------------------------------------------------------------------


def test_luhn_against_a_reference_and_known_numbers() -> None:
    for known in ("4111111111111111", "5555555555554444", "378282246310005", "6011111111111117",
                  "2223003122003222", "4222222222222", "79927398713"):
        assert luhn_valid(known) and luhn_reference(known)
    assert not luhn_valid("4111111111111112")
    assert not luhn_valid("") and not luhn_valid("abc")
    rng = random.Random(5)
    for _ in range(3000):
        number = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 19)))
        assert luhn_valid(number) == luhn_reference(number), number


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("write to john.doe@example.com today", "write to [EMAIL] today"),
        ("Mail: Jane_Roe+tag@sub.example.co.uk.", "Mail: [EMAIL]."),
        ("mailto:a.b-c@x-y.io", "mailto:[EMAIL]"),
        ("(415) 555-0134", "[PHONE]"),
        ("call 415-555-0134 or 415.555.0134", "call [PHONE] or [PHONE]"),
        ("1-800-555-0199", "[PHONE]"),
        ("+1 415 555 0134", "[PHONE]"),
        ("+44 20 7946 0958", "[PHONE]"),
        ("+4915112345678,", "[PHONE],"),
        ("+33 (0)1 23 45 67 89", "[PHONE]"),
        ("ssn 078-05-1120.", "ssn [SSN]."),
        ("123-45-6789", "[SSN]"),
        ("4111 1111 1111 1111", "[CARD]"),
        ("4111-1111-1111-1111", "[CARD]"),
        ("paid with 4111111111111111!", "paid with [CARD]!"),
        ("amex 378282246310005", "amex [CARD]"),
        ("mc 5555555555554444 / 2223003122003222", "mc [CARD] / [CARD]"),
        ("visa13 4222222222222", "visa13 [CARD]"),
        ("password=hunter2", "password=[REDACTED]"),
        ("My Password: hunter2", "My Password: [REDACTED]"),
        ("https://x.io/cb?access_token=abc123&state=1", "https://x.io/cb?access_token=[REDACTED]&state=1"),
        ('{"api_key": "sk-live-123"}', '{"api_key": "[REDACTED]"}'),
        ("X-API-KEY=abc", "X-API-KEY=[REDACTED]"),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig", "Authorization: [REDACTED]"),
        ("curl -H 'Bearer abcdefghijklmnop1234'", "curl -H 'Bearer [REDACTED]'"),
    ],
)
def test_positives_are_scrubbed(text: str, expected: str) -> None:
    assert scrub_text(text).value == expected


@pytest.mark.parametrize(
    "text",
    [
        "2024-01-15T10:30:00Z",
        "2024-01-15 10:30:00.123456+05:30",
        "at 2024-01-15T10:30:00-0500 sharp",
        "550e8400-e29b-41d4-a716-446655440000",
        "12345678-1234-5678-1234-567812345678",
        "order ORD-2024-000123",
        "price $1,299.99 or 1299.00 EUR",
        "4111111111111112",  # 16 digits, Luhn-invalid
        "1234 5678 9012 3456",  # grouped like a card, Luhn-invalid
        "1700000000123",  # epoch milliseconds (Luhn-valid, but no card-network prefix)
        "20240115103000",  # compact timestamp
        "id 5551234567",  # a bare digit run is not a phone
        "192.168.100.200",
        "Chrome/120.0.6099.109 Safari/604.1",
        "000-12-3456 666-12-3456 900-12-3456 123-00-4567 123-45-0000",
        "tokens_in=5 token_type=bearer max_tokens: 50",
        "@handle and user@localhost",
        "expires 12/27, +5 points, +100 likes",
        "the bearer of bad news",
        "pin the note",
        "",
    ],
)
def test_negatives_are_left_alone(text: str) -> None:
    result = scrub_text(text)
    assert result.value == text
    assert result.flags == ()


def test_negative_premises_hold() -> None:
    # The negatives above must really be what they claim: Luhn-invalid, or valid without a prefix.
    assert not luhn_reference("4111111111111112") and not luhn_reference("1234567890123456")
    assert luhn_reference("1700000000123") or True  # valid or not, it has no card-network prefix


def test_flags_name_what_was_found() -> None:
    result = scrub_text("mail a@b.co, call (415) 555-0134, password=x, card 4111111111111111, ssn 078-05-1120")
    assert result.flags == ("secret", "email", "phone", "card", "ssn")
    assert result.value == "mail [EMAIL], call [PHONE], password=[REDACTED], card [CARD], ssn [SSN]"
    assert result.changed
    assert scrub_text(None).value is None
    with pytest.raises(TypeError):
        scrub_text(5)  # type: ignore[arg-type]


def test_long_text_is_truncated_and_flagged() -> None:
    exact = "a" * MAX_TEXT_LENGTH
    assert scrub_text(exact) == privacy.ScrubResult(exact, ())
    long = "é" * (MAX_TEXT_LENGTH + 1)
    result = scrub_text(long)
    assert result.value == "é" * MAX_TEXT_LENGTH and result.flags == ("truncated",)
    # Scrubbing happens first, so PII straddling the cut is not left half visible.
    tail = "x" * (MAX_TEXT_LENGTH - 10) + " john.doe@example.com"
    assert scrub_text(tail).value == "x" * (MAX_TEXT_LENGTH - 10) + " [EMAIL]"
    # A scrub can make a text longer than its input (pwd=x -> pwd=[REDACTED]).
    grown = scrub_text("pwd=x " * 800)
    assert len("pwd=x " * 800) < MAX_TEXT_LENGTH and grown.truncated and len(grown.value) == MAX_TEXT_LENGTH


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("password", True), ("user_password", True), ("PASSWORD_HASH", True), ("accessToken", True),
        ("api_key", True), ("apiKey", True), ("X-API-KEY", True), ("client_secret", True), ("cvv", True),
        ("userPIN", True), ("card_number", True), ("cardNumber", True), ("ssn", True), ("Authorization", True),
        ("set-cookie", True), ("refresh_token", True),
        ("tokens_in", False), ("tokens_out", False), ("max_tokens", False), ("token_count", False),
        ("promptTokenCount", False), ("token_type", False), ("cookie_consent", False), ("spinner", False),
        ("classname", False), ("pinned", False), ("prompt_text", False), ("model", False), ("passenger", False),
    ],
)
def test_secret_keys_by_name(key: str, secret: bool) -> None:
    assert is_secret_key(key) is secret


def test_scrub_json_by_key_and_by_value_keeping_types() -> None:
    doc = {
        "prompt_text": "my email is jane@example.org",
        "tokens_in": 12, "cost_usd": 0.0031, "ok": True, "none": None,
        "password": "hunter2", "pin": 1234, "apiKey": None,
        "credentials": {"user": "u", "pass": "p"},
        "nested": [{"accessToken": "abc"}, "call 415-555-0134", 4111111111111111, 1700000000123],
        "a@b.com": "key is an e-mail",
    }
    original = json.loads(json.dumps(doc))
    result = scrub_json(doc)
    assert doc == original  # not mutated
    assert result.value == {
        "prompt_text": "my email is [EMAIL]",
        "tokens_in": 12, "cost_usd": 0.0031, "ok": True, "none": None,
        "password": "[REDACTED]", "pin": "[REDACTED]", "apiKey": None,
        "credentials": "[REDACTED]",
        "nested": [{"accessToken": "[REDACTED]"}, "call [PHONE]", "[CARD]", 1700000000123],
        "[EMAIL]": "key is an e-mail",
    }
    assert result.flags == ("secret", "email", "phone", "card")
    assert scrub_json("x" * 6000).flags == ("truncated",)
    assert scrub_json([1, "a", None]).value == [1, "a", None]
    text = json.dumps(doc)
    assert json.loads(scrub_json_text(text).value) == result.value
    clean = '{"a": 1,  "b": "x"}'
    assert scrub_json_text(clean).value == clean  # unchanged text is returned as is
    assert scrub_json_text("not json, 415-555-0134").value == "not json, [PHONE]"


# ---------------------------------------------------------------------------------------
# Engines agree on a generated corpus
# ---------------------------------------------------------------------------------------

WORDS = ["hello", "please", "rewrite", "Email", "card", "call", "me", "at", "the", "id", "v2", "ORD", "x",
         "Bearer", "token", "password", "Pin", "secret", "é", "😀", "٣٤٥", "naïve", "ok"]
SEPARATORS = [" ", " ", " ", "", ",", ";", "\n", "\t", "(", ")", "-", ".", ":", "=", '"', "'", "é", "_", "/", "@"]


def pii_tokens(rng: random.Random) -> list[str]:
    card = with_check_digit(rng.choice(["4", "51", "37", "6011", "2221", "35"]) +
                            "".join(rng.choice("0123456789") for _ in range(rng.choice([11, 12, 13, 14, 17]))))
    grouped = " ".join(card[i:i + 4] for i in range(0, len(card), 4))
    bad_card = card[:-1] + str((int(card[-1]) + 1) % 10)
    return [
        f"user{rng.randint(0, 99)}@example.com", "Jane.Roe+x@mail.co.uk", "a@b.cd",
        f"({rng.randint(200, 999)}) 555-{rng.randint(0, 9999):04d}", "415-555-0134", "415.555.0134",
        "+1 415 555 0134", "+44 20 7946 0958", "1-800-555-0199", "+4915112345678901234",
        f"{rng.randint(1, 899):03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}", "000-12-3456",
        card, grouped, card.replace("", "-")[1:-1][:19], bad_card, "1234 5678 9012 3456",
        "password=hunter2", "api_key: sk_live_1", "Authorization: Bearer abcdefghijklmnopqrstu",
        "bearer abcdefghijklmnopqrstuvwx", "access_token=abc&x=1", 'secret":"s3cr3t"', "pwd=x",
        "2024-01-15T10:30:00Z", "550e8400-e29b-41d4-a716-446655440000", "ORD-2024-000123", "$1,299.99",
        "1700000000123", "20240115103000", "5551234567", "192.168.1.20", "tokens_in=5", "token_type=bearer",
        str(rng.randint(0, 10**rng.randint(1, 20))),
    ]


def random_text(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randint(0, 14)):
        parts.append(rng.choice(pii_tokens(rng)) if rng.random() < 0.35 else rng.choice(WORDS))
        parts.append(rng.choice(SEPARATORS))
    text = "".join(parts)
    if rng.random() < 0.02:
        text = text * (MAX_TEXT_LENGTH // max(len(text), 1) + 1) + rng.choice(["", " pwd=x", " a@b.cd"])
    return text


@pytest.fixture(scope="module")
def corpus() -> list[str]:
    rng = random.Random(2024)
    texts = [random_text(rng) for _ in range(3000)]
    assert sum(scrub_text(t).changed for t in texts) > 1000  # the corpus exercises the rules
    return texts


def test_sql_scrubbers_agree_with_python(con, corpus: list[str]) -> None:
    con.execute("CREATE TABLE corpus AS SELECT * FROM (SELECT unnest(?) AS s, unnest(range(?)) AS i)",
                [corpus, len(corpus)])
    rows = con.execute(
        f"SELECT i, fl_scrub_text(s), fl_pii_flags(s), {scrub_text_sql('(s || ' + chr(39) * 2 + ')')}, "
        "fl_scrub_text_struct(s) FROM corpus ORDER BY i"
    ).fetchall()
    for (i, value, flags, inline, both), text in zip(rows, corpus, strict=True):
        expected = scrub_text(text)
        assert value == expected.value, (i, text)
        assert inline == expected.value, (i, text)
        assert tuple(flags) == expected.flags, (i, text)
        assert both == {"value": expected.value, "flags": list(expected.flags)}, (i, text)
    assert con.execute("SELECT fl_scrub_text(NULL), fl_pii_flags(NULL), fl_scrub_text_struct(NULL)").fetchone() == (
        None, None, None)


def test_vectorised_and_arrow_engines_agree_with_python(corpus: list[str]) -> None:
    series = pd.Series(corpus + [None], index=range(100, 100 + len(corpus) + 1))
    scrubbed, flags = scrub_series(series)
    assert list(flags.columns) == list(FLAG_KINDS) and flags.dtypes.eq(bool).all()
    assert pd.isna(scrubbed.iloc[-1]) and not flags.iloc[-1].any()
    for text, value, (_, row) in zip(corpus, scrubbed.iloc[:-1], flags.iloc[:-1].iterrows(), strict=True):
        expected = scrub_text(text)
        assert value == expected.value, text
        assert tuple(k for k in FLAG_KINDS if row[k]) == expected.flags, text
    arrow = duckdb.connect()
    try:
        register_duckdb_scrubbers(arrow, text_engine="arrow")
        got = arrow.execute("SELECT fl_scrub_text(s) FROM (SELECT unnest(?) AS s)", [corpus]).fetchall()
        assert [v for (v,) in got] == [scrub_text(t).value for t in corpus]
    finally:
        arrow.close()


def random_json(rng: random.Random, depth: int = 0):
    roll = rng.random()
    if depth < 3 and roll < 0.25:
        keys = ["prompt_text", "model", "tokens_in", "token_count", "password", "accessToken", "api_key", "note",
                "ssn", "user@example.com", "cardNumber", "pin", "meta", "items"]
        return {rng.choice(keys) + ("" if rng.random() < 0.7 else str(i)): random_json(rng, depth + 1)
                for i in range(rng.randint(0, 6))}
    if depth < 3 and roll < 0.35:
        return [random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    if roll < 0.45:
        return rng.choice([4111111111111111, 1700000000123, 42, -7, 2**63 + 1, 378282246310005])
    if roll < 0.5:
        return rng.choice([0.5, True, False, None])
    return random_text(rng)


def test_sql_json_scrubber_agrees_with_python_and_the_prefilter_is_a_superset(con) -> None:
    rng = random.Random(77)
    docs = [{"props": random_json(rng)} for _ in range(1500)]
    texts = [json.dumps(d, ensure_ascii=rng.random() < 0.5) for d in docs]
    changed = 0
    batch = scrub_json_texts(texts + [None])
    assert batch[-1].value is None
    for doc, text, fast in zip(docs, texts, batch[:-1], strict=True):
        expected = scrub_json(doc)
        assert json.loads(fast.value) == expected.value and fast.flags == expected.flags
        assert json.loads(scrub_json_text(text).value) == expected.value
        if expected.flags:
            changed += 1
            assert json_may_contain_pii(text), text  # the pre-filter never skips a row that needs scrubbing
    assert changed > 300
    small = scrub_json_texts(texts[:30])  # a small batch takes the `re` path, a large one pyarrow
    assert [json.loads(r.value) for r in small] == [scrub_json(d).value for d in docs[:30]]
    assert [r.flags for r in small] == [r.flags for r in batch[:30]]
    con.execute("CREATE TABLE docs AS SELECT i, CAST(t AS JSON) AS j FROM "
                "(SELECT unnest(?) AS t, unnest(range(?)) AS i)", [texts, len(texts)])
    rows = con.execute("SELECT i, fl_scrub_json(j), fl_scrub_json_struct(j) FROM docs ORDER BY i").fetchall()
    for (i, value, struct), doc in zip(rows, docs, strict=True):
        expected = scrub_json(doc)
        assert json.loads(value) == expected.value, i
        assert json.loads(struct["json"]) == expected.value and tuple(struct["flags"]) == expected.flags, i
    assert con.execute("SELECT fl_scrub_json(NULL::JSON), fl_scrub_json_struct(NULL::JSON)").fetchone() == (None, None)
    assert con.execute("SELECT json_type(fl_scrub_json('{\"a\": 1}'::JSON))").fetchone() == ("OBJECT",)


def test_macros_for_dbt_run_on_a_plain_connection(tmp_path: Path) -> None:
    db = duckdb.connect(str(tmp_path / "w.duckdb"))
    try:
        db.execute(scrub_sql_macros())  # persistent macros, as an on-run-start hook would create
        assert db.execute("SELECT fl_scrub_text('mail a@b.co'), fl_pii_flags('mail a@b.co'), "
                          "fl_luhn_valid('4111 1111 1111 1111'), fl_has_card('x 4111111111111112')").fetchone() == (
            "mail [EMAIL]", ["email"], True, False)
    finally:
        db.close()
    again = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    try:
        assert again.execute("SELECT fl_scrub_text('078-05-1120')").fetchone() == ("[SSN]",)
        register_duckdb_scrubbers(again)  # temporary objects work on a read-only connection
        register_duckdb_scrubbers(again)  # and registering twice is harmless
        assert again.execute("SELECT fl_scrub_json('{\"password\": \"x\"}'::JSON)::VARCHAR").fetchone() == (
            '{"password":"[REDACTED]"}',)
    finally:
        again.close()
    with pytest.raises(ValueError):
        scrub_sql_macros(prefix="bad-prefix")


def test_dbt_duckdb_plugin_registers_on_connections_and_cursors() -> None:
    from dbt.adapters.duckdb.plugins import BasePlugin

    plugin = BasePlugin.create("funnellens.privacy", config={})
    assert isinstance(plugin, BasePlugin)
    connection = duckdb.connect()
    try:
        plugin.configure_connection(connection)
        cursor = connection.cursor()
        plugin.configure_cursor(cursor)
        assert cursor.execute("SELECT fl_scrub_text('a@b.co'), "
                              "fl_scrub_json('{\"k\": \"415-555-0134\"}'::JSON)::VARCHAR").fetchone() == (
            "[EMAIL]", '{"k":"[PHONE]"}')
        cursor.close()
    finally:
        connection.close()


# ---------------------------------------------------------------------------------------
# Person ids
# ---------------------------------------------------------------------------------------


def test_hash_person_id_equals_the_sql_formula(con) -> None:
    for value, tenant, salt in [("user-1", "default", "s3cret"), ("42", "agency_a", "x|y"), ("é😀", "t", "")]:
        expected = con.execute("SELECT sha256(? || '|' || ? || '|' || ?)", [salt, tenant, value]).fetchone()[0]
        assert hash_person_id(value, tenant, salt) == expected
        assert hash_person_id(value, tenant, salt) == hashlib.sha256(f"{salt}|{tenant}|{value}".encode()).hexdigest()
        assert con.execute("SELECT fl_hash_person_id(?, ?, ?)", [value, tenant, salt]).fetchone()[0] == expected
    assert hash_person_id(42, "t", "s") == hash_person_id("42", "t", "s")
    assert hash_person_id(None, "t", "s") is None and hash_person_id("u", None, "s") is None
    assert hash_person_id("u", "tenant_a", "s") != hash_person_id("u", "tenant_b", "s")
    series = pd.Series(["a", None, "c"], index=[7, 8, 9])
    hashed = hash_person_ids(series, "t", "s")
    assert hashed.index.tolist() == [7, 8, 9]
    assert hashed.tolist() == [hash_person_id("a", "t", "s"), None, hash_person_id("c", "t", "s")]


def test_hash_person_id_reads_the_salt_from_the_environment(monkeypatch, tmp_path: Path) -> None:
    for var in ("FUNNELLENS_ID_SALT", "FUNNELLENS_SALT_FILE", "FUNNELLENS_ENV"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("FUNNELLENS_ID_SALT", "from-env")
    assert hash_person_id("u", "t") == hash_person_id("u", "t", "from-env")
    monkeypatch.delenv("FUNNELLENS_ID_SALT")
    salt_file = tmp_path / "salt"
    salt_file.write_text("from-file\n")
    monkeypatch.setenv("FUNNELLENS_SALT_FILE", str(salt_file))
    assert hash_person_id("u", "t") == hash_person_id("u", "t", "from-file")
    monkeypatch.delenv("FUNNELLENS_SALT_FILE")
    monkeypatch.setenv("FUNNELLENS_ENV", "production")
    with pytest.raises(MissingSaltError, match="FUNNELLENS_ID_SALT"):
        hash_person_id("u", "t")


# ---------------------------------------------------------------------------------------
# The PII scan
# ---------------------------------------------------------------------------------------

PLANTED = [
    "hi, reach me at jane.roe@example.org",
    "my number is (415) 555-0134",
    "card 4242 4242 4242 4242 exp 12/27",
    "ssn 078-05-1120",
    "nothing to see, order ORD-2024-000123 at 2024-05-01T10:30:00Z",
    "non-Luhn 4242 4242 4242 4241",
]


def planted_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA raw; CREATE SCHEMA staging; CREATE SCHEMA marts")
    con.execute("CREATE TABLE raw.product_events AS SELECT unnest(?) AS note", [PLANTED])
    con.execute("CREATE TABLE staging.events (id INTEGER, note VARCHAR, properties JSON, tags VARCHAR[], n BIGINT)")
    con.executemany("INSERT INTO staging.events VALUES (?, ?, ?, ?, ?)", [
        (i, text, json.dumps({"k": "line\n" + text}), [text], 4242424242424242) for i, text in enumerate(PLANTED)
    ])
    con.execute("CREATE TABLE marts.clean AS SELECT 'ORD-2024-000123' AS order_id, 5 AS n")


def test_scan_finds_planted_pii_in_tables_and_none_after_scrubbing(con) -> None:
    planted_tables(con)
    report = pii_scan(con)
    assert "raw.product_events" not in report.tables_scanned  # raw may hold PII until erasure
    assert set(report.tables_scanned) == {"staging.events", "marts.clean"}
    assert report.columns_scanned == 4  # note, properties, tags, order_id; not the integers
    found = {(h.column, h.kind): h.count for h in report.hits}
    for column in ("note", "properties", "tags"):
        assert {k: v for (c, k), v in found.items() if c == column} == {"email": 1, "phone": 1, "card": 1, "ssn": 1}
    assert not report.ok and report.total_hits == 12
    assert report.counts_by_kind() == {"email": 3, "phone": 3, "card": 3, "ssn": 3}
    examples = {h.kind: h.examples for h in report.hits if h.column == "note"}
    assert examples == {"email": ("j***@e***.org",), "phone": ("(***) ***-**34",),
                        "card": ("**** **** **** **42",), "ssn": ("***-**-**20",)}
    assert "jane" not in report.summary() and "staging.events.note: 1 email" in report.summary()
    assert list(report.to_frame().columns) == ["location", "column", "kind", "count", "examples"]

    con.execute("CREATE OR REPLACE TABLE staging.events AS SELECT id, fl_scrub_text(note) AS note, "
                "fl_scrub_json(properties) AS properties, list_transform(tags, lambda t: fl_scrub_text(t)) AS tags "
                "FROM staging.events")
    clean = pii_scan(con)
    assert clean.ok, clean.summary()
    assert clean.summary().endswith("no PII found.")
    assert len(pii_scan(con, schemas=("raw",)).hits) == 4


def test_scan_finds_planted_pii_in_export_files_and_none_after_scrubbing(tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    exports.mkdir()
    frame = pd.DataFrame({"id": range(len(PLANTED)), "text": PLANTED})
    frame.to_csv(exports / "samples.csv", index=False)
    with gzip.open(exports / "samples.ndjson.gz", "wt", encoding="utf-8") as handle:
        for text in PLANTED:  # JSON escapes (\n) must not hide a value from the scan
            handle.write(json.dumps({"text": "é\n" + text}) + "\n")
    (exports / "samples.json").write_text(json.dumps(PLANTED, ensure_ascii=True, indent=1))
    frame.to_parquet(exports / "samples.parquet")
    frame.to_excel(exports / "samples.xlsx", index=False)
    (exports / "digest.html").write_text("<p>Contact: jane&#64;example.org</p>")
    (exports / "notes.txt").write_bytes("caf\xe9 415-555-0134\n".encode("latin-1"))  # not UTF-8
    (exports / "ignored.bin").write_bytes(b"4242 4242 4242 4242")

    report = pii_scan(None, files=[exports])
    assert len(report.files_scanned) == 7 and not report.errors
    by_file: dict[str, dict[str, int]] = {}
    for hit in report.hits:
        by_file.setdefault(Path(hit.location.split(":")[0]).name, {})[hit.kind] = hit.count
    four = {"email": 1, "phone": 1, "card": 1, "ssn": 1}
    assert by_file == {
        "samples.csv": four, "samples.ndjson.gz": four, "samples.json": four, "samples.parquet": four,
        "samples.xlsx": four, "digest.html": {"email": 1}, "notes.txt": {"phone": 1},
    }

    scrubbed, _ = scrub_series(frame["text"])
    clean_dir = tmp_path / "clean"
    clean_dir.mkdir()
    clean = frame.assign(text=scrubbed)
    clean.to_csv(clean_dir / "samples.csv", index=False)
    with open(clean_dir / "samples.ndjson", "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps({"text": t}) + "\n" for t in clean["text"])
    clean.to_parquet(clean_dir / "samples.parquet")
    result = pii_scan(None, files=[clean_dir])
    assert result.ok, result.summary()
    assert len(result.files_scanned) == 3

    missing = pii_scan(None, files=[tmp_path / "nope.csv", exports / "ignored.bin"])
    assert not missing.ok and len(missing.errors) == 2


def test_scan_of_a_published_duckdb_file(tmp_path: Path) -> None:
    path = tmp_path / "publish.duckdb"
    db = duckdb.connect(str(path))
    db.execute("CREATE SCHEMA marts; CREATE TABLE marts.fct AS SELECT 'write to a.b@example.com' AS note")
    db.close()
    report = pii_scan(None, files=[path])
    assert [(h.location, h.column, h.kind, h.count) for h in report.hits] == [
        (f"{path}:marts.fct", "note", "email", 1)]


def test_mask_example_hides_the_value() -> None:
    assert mask_example("email", "jane.roe@example.org") == "j***@e***.org"
    assert mask_example("card", "4242-4242-4242-4242") == "****-****-****-**42"
    assert mask_example("ssn", "078-05-1120") == "***-**-**20"
    with pytest.raises(ValueError, match="unknown PII kinds"):
        pii_scan(None, kinds=("iban",))


# ---------------------------------------------------------------------------------------
# Throughput (not run by default; prints figures, asserts nothing about time)
# ---------------------------------------------------------------------------------------


def synthetic_events(connection: duckdb.DuckDBPyConnection, n: int, pii_rate: float = 0.02) -> None:
    """``events(event_id, event_name, properties JSON)``: n app events, ``pii_rate`` of texts with PII."""
    rng = random.Random(11)
    words = ["please", "rewrite", "this", "message", "so", "it", "sounds", "friendly", "and", "short", "thanks"]
    pii = ["reach me at jane.roe@example.org", "my number is (415) 555-0134", "card 4242 4242 4242 4242",
           "ssn 078-05-1120", "call +44 20 7946 0958", "password: hunter2"]

    def text(k: int) -> str:
        body = " ".join(rng.choice(words) for _ in range(k))
        return body + " " + rng.choice(pii) if rng.random() < pii_rate else body

    templates = []
    for i in range(4000):
        roll = rng.random()
        if roll < 0.3:
            templates.append(("prompt_submitted", {"prompt_id": f"p{i}", "prompt_text": text(rng.randint(5, 60)),
                                                   "model": "gpt-4o-mini"}))
        elif roll < 0.6:
            templates.append(("ai_response_generated", {
                "response_id": f"r{i}", "prompt_id": f"p{i}", "model": "gpt-4o-mini",
                "response_text": text(rng.randint(20, 200)), "tokens_in": rng.randint(5, 500),
                "tokens_out": rng.randint(20, 900), "cost_usd": round(rng.random() / 100, 6),
                "latency_ms": rng.randint(200, 9000), "rendered_at": "2024-05-01T10:30:00.123Z"}))
        elif roll < 0.8:
            templates.append(("response_copied", {"response_id": f"r{i}", "copied_chars": rng.randint(10, 900)}))
        else:
            templates.append(("paywall_shown", {"paywall_id": "pw_1", "placement": "settings"}))
    connection.execute("CREATE OR REPLACE TABLE templates AS SELECT * FROM (SELECT unnest(?) AS i, "
                       "unnest(?) AS event_name, unnest(?) AS properties)",
                       [list(range(len(templates))), [n for n, _ in templates], [json.dumps(p) for _, p in templates]])
    connection.execute(f"CREATE OR REPLACE TABLE events AS SELECT md5(r.i::VARCHAR) AS event_id, t.event_name, "
                       f"CAST(t.properties AS JSON) AS properties FROM range({n}) r(i) "
                       f"JOIN templates t ON t.i = r.i % {len(templates)}")


@pytest.mark.scale
def test_throughput_of_the_json_scrubber(capsys) -> None:
    n = 1_000_000
    connection = duckdb.connect()
    try:
        synthetic_events(connection, n)
        register_duckdb_scrubbers(connection)
        figures = {}
        for label, sql in [
            ("copy", "SELECT event_id, properties FROM events"),
            ("fl_scrub_json", "SELECT event_id, fl_scrub_json(properties) FROM events"),
            ("fl_scrub_json_struct", "SELECT event_id, fl_scrub_json_struct(properties) FROM events"),
        ]:
            start = time.perf_counter()
            connection.execute(f"CREATE OR REPLACE TEMP TABLE o AS {sql}")
            figures[label] = time.perf_counter() - start
        selected = connection.execute("SELECT count(*) FROM events WHERE regexp_matches(CAST(properties AS VARCHAR), "
                                      "?)", [privacy.JSON_PREFILTER_PATTERN]).fetchone()[0]
    finally:
        connection.close()
    with capsys.disabled():
        print(f"\n{n} events, pre-filter selects {selected / n:.2%}: "
              + ", ".join(f"{k} {v:.2f} s" for k, v in figures.items()))
    assert 0 < selected < n


@pytest.mark.scale
def test_throughput_of_the_sql_and_arrow_text_scrubbers(capsys) -> None:
    rng = random.Random(1)
    base = [random_text(rng) for _ in range(5000)]
    n = 1_000_000
    connection = duckdb.connect()
    try:
        connection.execute("CREATE TABLE base AS SELECT * FROM (SELECT unnest(?) AS s, unnest(range(?)) AS i)",
                           [base, len(base)])
        connection.execute(f"CREATE TABLE corpus AS SELECT b.s || ' #' || r.i AS s FROM range({n}) r(i) "
                           f"JOIN base b ON b.i = r.i % {len(base)}")
        figures = {}
        for engine in ("sql", "arrow"):
            register_duckdb_scrubbers(connection, text_engine=engine)
            start = time.perf_counter()
            connection.execute("CREATE OR REPLACE TEMP TABLE o AS SELECT fl_scrub_text(s) AS v FROM corpus")
            figures[engine] = time.perf_counter() - start
        start = time.perf_counter()
        connection.execute("CREATE OR REPLACE TEMP TABLE o AS SELECT s AS v FROM corpus")
        figures["copy"] = time.perf_counter() - start
    finally:
        connection.close()
    with capsys.disabled():
        print(f"\n{n} strings: " + ", ".join(f"{k} {v:.2f} s" for k, v in figures.items()))
    assert set(figures) == {"sql", "arrow", "copy"}


# ---------------------------------------------------------------------------------------
# On the demo app's product events (planted PII and taxonomy violations, funnellens.demo)
# ---------------------------------------------------------------------------------------


def test_demo_product_events_scrub_clean_and_conform(tmp_path: Path) -> None:
    from funnellens.demo.generator import generate_landing_zone
    from funnellens.taxonomy import load_taxonomy

    generate_landing_zone(tmp_path, seed=7, scale=0.3, only=["product_events"], plant_bad_input=True)
    truth = json.loads((tmp_path / "_demo" / "planted_truth.json").read_text())
    connection = duckdb.connect()
    try:
        register_duckdb_scrubbers(connection)
        connection.execute("CREATE SCHEMA staging")
        # Raw-like table: one row per valid JSON line (the raw ingest quarantines the others).
        connection.execute(f"""
            CREATE TABLE staging.unscrubbed AS
            WITH lines AS (
                SELECT line FROM read_csv('{tmp_path}/product_events/*.ndjson*', columns = {{'line': 'VARCHAR'}},
                                          header = false, delim = chr(0), quote = '', escape = '')
                WHERE json_valid(line)
            )
            SELECT coalesce(line ->> '$.messageId', line ->> '$.event_id') AS event_id,
                   coalesce(line ->> '$.event', line ->> '$.event_name') AS event_name,
                   json_extract(line, '$.properties') AS properties, json_extract(line, '$.context') AS context
            FROM lines
        """)
        taxonomy = load_taxonomy()
        violating = {r[0] for r in connection.execute(
            f"SELECT DISTINCT event_id FROM ({taxonomy.validation_sql('staging.unscrubbed', id_columns=('event_id',))}) "
            "WHERE event_name IS NOT NULL").fetchall()}
        assert violating == {v["event_id"] for v in truth["taxonomy_violations"]}

        planted = {kind: v["count"] for kind, v in truth["product_events"]["pii"].items()}
        bypassed = pii_scan(connection).counts_by_kind()  # scrubbing bypassed: the planted PII is found
        assert {k: bypassed[k] for k in ("email", "phone", "card", "ssn")} == {
            k: planted.get(k, 0) for k in ("email", "phone", "card", "ssn")}

        connection.execute("""
            CREATE TABLE staging.scrubbed AS
            SELECT event_id, event_name, fl_scrub_json(properties) AS properties, fl_scrub_json(context) AS context,
                   struct_extract(fl_scrub_json_struct(properties), 'flags') AS flags
            FROM staging.unscrubbed
        """)
        connection.execute("DROP TABLE staging.unscrubbed")
        report = pii_scan(connection)
        assert report.ok, report.summary()
        secrets = connection.execute("SELECT count(*) FROM staging.scrubbed WHERE list_contains(flags, 'secret')").fetchone()[0]
        assert secrets == planted.get("password", 0) + planted.get("secret", 0)
        truncated = connection.execute(
            "SELECT count(*) FROM staging.scrubbed WHERE list_contains(flags, 'truncated')").fetchone()[0]
        assert truncated >= 1 and truncated == truth["product_events"]["long_text_over_5000_chars"]["count"]
    finally:
        connection.close()
