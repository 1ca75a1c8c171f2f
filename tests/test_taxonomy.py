"""The product-event taxonomy: the YAML, the loader's errors, and the set-based SQL validation.

The SQL validation is checked against an independent Python reference on a random corpus.
"""

from __future__ import annotations

import json
import random
import textwrap
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from funnellens.taxonomy import (
    DEFAULT_ID_COLUMNS,
    PROPERTY_TYPES,
    REASON_CODE,
    Taxonomy,
    TaxonomyError,
    default_taxonomy_path,
    load_taxonomy,
)


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return load_taxonomy()


@pytest.fixture
def con():
    connection = duckdb.connect()
    yield connection
    connection.close()


# ---------------------------------------------------------------------------------------
# The taxonomy file
# ---------------------------------------------------------------------------------------


def test_default_file_covers_the_everreach_categories(taxonomy: Taxonomy) -> None:
    assert default_taxonomy_path().is_file()
    assert len(taxonomy.events) >= 30
    expected = {
        "ai_prompts": {"prompt_submitted", "ai_response_generated", "response_copied", "response_liked",
                       "response_disliked"},
        "paywall_purchase": {"paywall_shown", "paywall_dismissed", "purchase_started", "purchase_completed",
                             "purchase_failed", "restore_purchases"},
        "trial_subscription": {"trial_started", "trial_converted", "trial_cancelled", "subscription_started",
                               "subscription_renewed", "subscription_cancelled"},
        "onboarding": {"onboarding_started", "onboarding_step_completed", "onboarding_completed",
                       "onboarding_skipped"},
        "contacts": {"contact_added", "contact_imported", "contact_deleted", "contact_message_sent"},
        "feature_usage": {"feature_used", "search_performed", "settings_changed", "share_clicked",
                          "notification_opened"},
        "app_lifecycle": {"app_opened", "signup_completed", "login"},
    }
    for category, names in expected.items():
        assert category in taxonomy.categories
        assert names <= {e.name for e in taxonomy.events_in(category)}, category
    for event in taxonomy.events.values():
        assert event.description and event.category in taxonomy.categories
        assert all(p.type in PROPERTY_TYPES for p in event.properties)


@pytest.mark.parametrize(
    ("event", "required"),
    [
        ("prompt_submitted", {"prompt_id": "string", "prompt_text": "string", "model": "string"}),
        ("ai_response_generated", {"response_id": "string", "prompt_id": "string", "model": "string",
                                   "response_text": "string", "tokens_in": "integer", "tokens_out": "integer",
                                   "cost_usd": "number", "latency_ms": "integer", "rendered_at": "timestamp"}),
        ("response_copied", {"response_id": "string"}),
        ("response_liked", {"response_id": "string"}),
        ("response_disliked", {"response_id": "string"}),
        ("paywall_shown", {"paywall_id": "string", "placement": "string"}),
        ("purchase_completed", {"product_id": "string", "price": "number", "currency": "string"}),
        ("trial_started", {"plan": "string"}),
        ("onboarding_step_completed", {"step": "string", "step_index": "integer"}),
        ("feature_used", {"feature": "string"}),
    ],
)
def test_properties_the_lifecycle_metrics_and_ml_export_need(taxonomy: Taxonomy, event: str, required: dict) -> None:
    spec = taxonomy.event(event)
    assert {p.name: p.type for p in spec.required} == required


def test_aha_moment_is_the_first_copied_response(taxonomy: Taxonomy) -> None:
    assert taxonomy.aha_moment.event == "response_copied"
    assert taxonomy.aha_moment.rule == "first"
    assert taxonomy.aha_moment.event in taxonomy.events
    assert taxonomy.aha_moment.description


# ---------------------------------------------------------------------------------------
# Loader errors
# ---------------------------------------------------------------------------------------

VALID_HEADER = """
version: 1
categories:
  ai_prompts: AI and prompts
aha_moment: {event: a_event, rule: first}
events:
  a_event:
    category: ai_prompts
    description: An event.
"""


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "events.yml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def test_a_minimal_file_loads(tmp_path: Path) -> None:
    tax = load_taxonomy(write(tmp_path, VALID_HEADER))
    assert list(tax.events) == ["a_event"]
    assert tax.event("a_event").properties == ()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("""
          b_event:
            category: ai_prompts
            description: B.
            required:
              x: {type: str}
         """, "event 'b_event': property 'x': unknown type 'str'"),
        ("""
          b_event:
            category: nowhere
            description: B.
         """, "event 'b_event': unknown category 'nowhere'"),
        ("""
          b_event:
            category: ai_prompts
         """, "event 'b_event': description is missing"),
        ("""
          b_event:
            category: ai_prompts
            description: B.
            required:
              x: {type: string}
            optional:
              x: {type: integer}
         """, "event 'b_event': property 'x' is defined twice"),
        ("""
          b_event:
            category: ai_prompts
            description: B.
            optional:
              n: {type: integer, enum: [a]}
         """, "event 'b_event': property 'n': enum is only supported for string properties"),
        ("""
          b_event:
            category: ai_prompts
            description: B.
            colour: red
         """, "event 'b_event': unknown key 'colour'"),
        ("""
          BadName:
            category: ai_prompts
            description: B.
         """, "event 'BadName': the name must be lower snake case"),
        ("""
          b_event:
            category: ai_prompts
            description: B.
            required:
              bad-name: {type: string}
         """, "property 'bad-name': the name must be an identifier"),
    ],
)
def test_invalid_definitions_fail_naming_the_event(tmp_path: Path, extra: str, message: str) -> None:
    body = textwrap.dedent(VALID_HEADER) + textwrap.indent(textwrap.dedent(extra), "  ")
    with pytest.raises(TaxonomyError) as err:
        load_taxonomy(write(tmp_path, body))
    assert message in str(err.value)


def test_duplicate_event_names_are_rejected_not_silently_merged(tmp_path: Path) -> None:
    body = textwrap.dedent(VALID_HEADER) + "  a_event:\n    category: ai_prompts\n    description: Again.\n"
    with pytest.raises(TaxonomyError, match=r"duplicate name 'a_event'.*line 10 \(first defined at line 7\)"):
        load_taxonomy(write(tmp_path, body))


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    body = """
    version: 1
    categories: {ai_prompts: AI}
    aha_moment: {event: missing_event, rule: last}
    events:
      a_event: {category: ai_prompts, description: A, required: {x: {type: float}}}
      b_event: {category: other, description: B}
    """
    with pytest.raises(TaxonomyError) as err:
        load_taxonomy(write(tmp_path, body))
    problems = err.value.problems
    assert any("a_event" in p and "unknown type 'float'" in p for p in problems)
    assert any("b_event" in p and "unknown category 'other'" in p for p in problems)
    assert any("aha_moment: event 'missing_event'" in p for p in problems)
    assert any("aha_moment: unknown rule 'last'" in p for p in problems)


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="event taxonomy not found"):
        load_taxonomy(tmp_path / "nope.yml")
    with pytest.raises(TaxonomyError, match="not valid YAML"):
        load_taxonomy(write(tmp_path, "events: [unclosed"))


# ---------------------------------------------------------------------------------------
# Set-based validation
# ---------------------------------------------------------------------------------------


def make_table(con: duckdb.DuckDBPyConnection, rows: list[tuple], properties_type: str = "JSON") -> None:
    frame = pd.DataFrame({
        "event_id": [str(i) for i in range(1, len(rows) + 1)],
        "_line": range(1, len(rows) + 1),
        "event_name": [name for name, _ in rows],
        "props": [p if p is None or isinstance(p, str) else json.dumps(p) for _, p in rows],
    }).astype({"event_name": object, "props": object})
    con.register("__rows", frame)
    con.execute(
        "CREATE OR REPLACE TABLE events AS SELECT event_id, 'product_events/a.ndjson' AS _source_file, "
        "'h' AS _file_hash, CAST(_line AS BIGINT) AS _line, CAST(event_name AS VARCHAR) AS event_name, "
        f"CAST(CAST(props AS VARCHAR) AS {properties_type}) AS properties FROM __rows ORDER BY _line"
    )
    con.unregister("__rows")


GOOD_PROMPT = {"prompt_id": "p1", "prompt_text": "hello", "model": "gpt-4o-mini"}
GOOD_RESPONSE = {
    "response_id": "r1", "prompt_id": "p1", "model": "m", "response_text": "hi", "tokens_in": 3,
    "tokens_out": 7.0, "cost_usd": 0, "latency_ms": 812, "rendered_at": "2024-05-01T12:30:00Z",
}


def test_validation_sql_finds_each_kind_of_violation(con, taxonomy: Taxonomy) -> None:
    make_table(con, [
        ("prompt_submitted", GOOD_PROMPT),                                      # 1 ok
        ("prompt_sent", GOOD_PROMPT),                                           # 2 unknown name
        (None, {}),                                                             # 3 no name
        ("prompt_submitted", {"prompt_id": "p", "model": "m"}),                 # 4 missing prompt_text
        ("prompt_submitted", {**GOOD_PROMPT, "model": None}),                   # 5 required null
        ("ai_response_generated", {**GOOD_RESPONSE, "tokens_in": "3"}),        # 6 string for integer
        ("ai_response_generated", {**GOOD_RESPONSE, "latency_ms": 1.5}),       # 7 fraction for integer
        ("ai_response_generated", {**GOOD_RESPONSE, "rendered_at": "soon"}),   # 8 bad timestamp
        ("paywall_shown", {"paywall_id": "pw", "placement": "nowhere"}),       # 9 not in enum
        ("response_liked", [1, 2]),                                             # 10 not an object
        ("logout", None),                                                       # 11 ok, no properties
        ("response_copied", {"response_id": "r1", "extra": {"any": "thing"}}),  # 12 ok, extra allowed
        ("app_opened", {"cold_start": None}),                                   # 13 ok, optional null
        ("ai_response_generated", GOOD_RESPONSE),                               # 14 ok (7.0 is integral)
    ])
    found = con.execute(f"SELECT * FROM ({taxonomy.validation_sql('events')}) ORDER BY _line, column_name").df()
    assert list(found.columns) == [*DEFAULT_ID_COLUMNS, "event_name", "column_name", "reason_code", "reason"]
    assert set(found["reason_code"]) == {REASON_CODE}
    got = set(zip(found["_line"].astype(int), found["column_name"], found["reason"], strict=True))
    assert got == {
        (2, "event_name", "unknown event name 'prompt_sent' (not in the taxonomy)"),
        (3, "event_name", "event name is missing"),
        (4, "properties.prompt_text", "event prompt_submitted: missing required property prompt_text"),
        (5, "properties.model", "event prompt_submitted: required property model is null"),
        (6, "properties.tokens_in", "event ai_response_generated: property tokens_in has type string, expected integer"),
        (7, "properties.latency_ms", "event ai_response_generated: property latency_ms has type number, expected integer"),
        (8, "properties.rendered_at",
         "event ai_response_generated: property rendered_at is a string but not an ISO 8601 timestamp"),
        (9, "properties.placement",
         "event paywall_shown: property placement is not one of: onboarding, feature_gate, settings, "
         "limit_reached, launch, promo"),
        (10, "properties", "properties has type array, expected an object"),
    }
    good = con.execute(f"SELECT _line FROM events WHERE {taxonomy.conformance_predicate()} ORDER BY _line").fetchall()
    assert [g for (g,) in good] == [1, 11, 12, 13, 14]
    kept = con.execute(f"SELECT * FROM ({taxonomy.valid_rows_sql('events')}) ORDER BY _line").df()
    assert kept["_line"].tolist() == [1, 11, 12, 13, 14]
    assert list(kept.columns) == ["event_id", "_source_file", "_file_hash", "_line", "event_name", "properties"]


def test_varchar_properties_and_invalid_json(con, taxonomy: Taxonomy) -> None:
    make_table(con, [
        ("response_liked", '{"response_id": "r"}'),
        ("response_liked", '{"response_id": '),
        ("response_liked", '"just a string"'),
    ], properties_type="VARCHAR")
    sql = taxonomy.validation_sql("events", id_columns=("event_id",))
    rows = con.execute(f"SELECT event_id, column_name, reason FROM ({sql}) ORDER BY event_id").fetchall()
    assert rows == [
        ("2", "properties", "properties is not valid JSON"),
        ("3", "properties", "properties has type string, expected an object"),
    ]


def test_a_subquery_relation_and_custom_column_names(con, taxonomy: Taxonomy) -> None:
    con.execute("CREATE TABLE t AS SELECT 'x1' AS id, 'nope' AS name, '{}'::JSON AS props")
    sql = taxonomy.validation_sql("(SELECT * FROM t)", properties_column="props", name_column="name",
                                  id_columns=("id",))
    assert con.execute(sql).fetchall() == [
        ("x1", "nope", "event_name", REASON_CODE, "unknown event name 'nope' (not in the taxonomy)")
    ]


def test_duckdb_macro_and_dbt_macro_give_the_same_result(con, taxonomy: Taxonomy) -> None:
    import jinja2

    make_table(con, [("prompt_submitted", {"prompt_id": 1}), ("logout", None), ("nope", {})])
    con.execute(taxonomy.create_macro_sql())
    via_macro = con.execute("SELECT fl_taxonomy_violations(event_name, properties) FROM events ORDER BY _line").fetchall()
    macro_file = taxonomy.to_dbt_macro()
    assert "{% macro taxonomy_violations(event_name='event_name', properties='properties') -%}" in macro_file
    rendered = jinja2.Environment().from_string(
        macro_file + "{{ taxonomy_violations('event_name', 'properties') }}"
    ).render()
    via_dbt = con.execute(f"SELECT {rendered} FROM events ORDER BY _line").fetchall()
    direct = con.execute(f"SELECT {taxonomy.violations_expression()} FROM events ORDER BY _line").fetchall()
    assert via_macro == via_dbt == direct
    assert [len(v) for (v,) in direct] == [3, 0, 1]


# ---------------------------------------------------------------------------------------
# An independent reference on a random corpus
# ---------------------------------------------------------------------------------------

GOOD_VALUES = {"string": "abc", "integer": 42, "number": 2.5, "boolean": True,
               "timestamp": "2024-05-01T12:30:00Z", "object": {"a": 1}, "array": [1, "x"]}
GOOD_TIMESTAMPS = ["2024-05-01T12:30:00Z", "2024-05-01 12:30:00", "2024-05-01T12:30:00.123+02:00", "2024-05-01"]
BAD_TIMESTAMPS = ["yesterday", "2024-13-01T00:00:00Z", "", "12:30"]


def json_type_name(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def reference_violations(tax: Taxonomy, name, text) -> set[tuple[str, str]]:
    """The taxonomy's rules written out directly in Python (see Taxonomy.violations_expression)."""
    if name is None:
        return {("event_name", "event name is missing")}
    if name not in tax.events:
        return {("event_name", f"unknown event name '{name[:100]}' (not in the taxonomy)")}
    props = None
    if text is not None:
        try:
            props = json.loads(text)
        except ValueError:
            return {("properties", "properties is not valid JSON")}
    if props is not None and not isinstance(props, dict):
        return {("properties", f"properties has type {json_type_name(props)}, expected an object")}
    props = props or {}
    out = set()
    event = tax.events[name]
    for prop in event.properties:
        col, prefix = f"properties.{prop.name}", f"event {name}: "
        subject = f"{prefix}property {prop.name}"
        if prop.name not in props or props[prop.name] is None:
            if prop.required:
                out.add((col, prefix + (f"missing required property {prop.name}" if prop.name not in props
                                        else f"required property {prop.name} is null")))
            continue
        value = props[prop.name]
        actual = json_type_name(value)
        accepted = {"string": {"string"}, "timestamp": {"string"}, "integer": {"integer", "number"},
                    "number": {"integer", "number"}, "boolean": {"boolean"}, "object": {"object"},
                    "array": {"array"}}[prop.type]
        if actual not in accepted:
            out.add((col, f"{subject} has type {actual}, expected {prop.type}"))
        elif prop.type == "integer" and isinstance(value, float) and value != int(value):
            out.add((col, f"{subject} has type number, expected integer"))
        elif prop.type == "timestamp" and value not in GOOD_TIMESTAMPS:
            out.add((col, f"{subject} is a string but not an ISO 8601 timestamp"))
        elif prop.enum and value not in prop.enum:
            out.add((col, f"{subject} is not one of: {', '.join(prop.enum)}"))
    return out


def random_event(rng: random.Random, tax: Taxonomy) -> tuple:
    roll = rng.random()
    if roll < 0.03:
        return None, json.dumps({})
    if roll < 0.08:
        return rng.choice(["unknown_event", "Prompt_Submitted", "x" * 150]), json.dumps({})
    event = rng.choice(list(tax.events.values()))
    shape = rng.random()
    if shape < 0.04:
        return event.name, None
    if shape < 0.07:
        return event.name, rng.choice(["[1, 2]", '"text"', "7", "null", "{bad json"])
    props = {}
    for prop in event.properties:
        choice = rng.random()
        if choice < 0.1:
            continue
        if choice < 0.15:
            props[prop.name] = None
        elif choice < 0.25:
            other = rng.choice([t for t in GOOD_VALUES if t != prop.type])
            props[prop.name] = GOOD_VALUES[other]
        elif choice < 0.3 and prop.type == "integer":
            props[prop.name] = rng.choice([3.0, 3.5, -1, 2**63 + 5])
        elif prop.type == "timestamp":
            props[prop.name] = rng.choice(GOOD_TIMESTAMPS + BAD_TIMESTAMPS)
        elif prop.enum:
            props[prop.name] = rng.choice([*prop.enum, "not_allowed"])
        else:
            props[prop.name] = GOOD_VALUES[prop.type]
    if rng.random() < 0.3:
        props["unlisted_extra"] = rng.choice([1, "x", None, [1]])
    return event.name, json.dumps(props)


@pytest.mark.parametrize("properties_type", ["JSON", "VARCHAR"])
def test_sql_matches_a_python_reference_on_a_random_corpus(con, taxonomy: Taxonomy, properties_type: str) -> None:
    rng = random.Random(20240501)
    rows = [random_event(rng, taxonomy) for _ in range(1500)]
    if properties_type == "JSON":  # a JSON column cannot hold invalid JSON
        rows = [(n, p) for n, p in rows if p is None or p != "{bad json"]
    make_table(con, rows, properties_type)
    found = con.execute(taxonomy.validation_sql("events", id_columns=("_line",))).fetchall()
    got: dict[int, set] = {}
    for line, _name, column, _code, reason in found:
        got.setdefault(line, set()).add((column, reason))
    expected = {i: reference_violations(taxonomy, n, p) for i, (n, p) in enumerate(rows, 1)}
    expected = {i: v for i, v in expected.items() if v}
    assert got == expected
    assert 100 < len(expected) < len(rows) - 100  # both outcomes are well represented
    good = {line for (line,) in con.execute(f"SELECT _line FROM events WHERE {taxonomy.conformance_predicate()}").fetchall()}
    assert good == set(range(1, len(rows) + 1)) - set(expected)
    kept = {line for (line,) in con.execute(f"SELECT _line FROM ({taxonomy.valid_rows_sql('events')})").fetchall()}
    assert kept == good
    # The scalar expression (macros, dbt, pandera) and the query form agree row by row.
    listed = con.execute(f"SELECT _line, {taxonomy.violations_expression()} FROM events").fetchall()
    assert {line: {(v["column_name"], v["reason"]) for v in vs} for line, vs in listed if vs} == expected


# ---------------------------------------------------------------------------------------
# pandas / pandera and documentation
# ---------------------------------------------------------------------------------------


def test_validate_frame_and_pandera_check(taxonomy: Taxonomy) -> None:
    import pandera.pandas as pa

    frame = pd.DataFrame({
        "event_name": ["response_liked", "nope", "response_liked", "trial_started"],
        "properties": ['{"response_id": "r"}', "{}", {"response_id": 5}, {"plan": "pro"}],
    }, index=[10, 11, 12, 13])
    bad = taxonomy.validate_frame(frame)
    assert sorted(bad["row"].tolist()) == [1, 2]
    schema = pa.DataFrameSchema(checks=[taxonomy.to_pandera_check()])
    with pytest.raises(pa.errors.SchemaErrors) as err:
        schema.validate(frame, lazy=True)
    assert set(err.value.failure_cases["index"].dropna().astype(int)) == {11, 12}
    schema.validate(frame.loc[[10, 13]])


def test_markdown_documents_every_event_and_property(taxonomy: Taxonomy) -> None:
    page = taxonomy.to_markdown()
    assert page == taxonomy.to_markdown()
    assert page.startswith("# Product-event taxonomy")
    assert "validation/taxonomy/events.yml" in page
    for event in taxonomy.events.values():
        assert f"### `{event.name}`" in page
        for prop in event.properties:
            assert f"| `{prop.name}` | {prop.type} | {'yes' if prop.required else 'no'} |" in page
    assert "The **first** `response_copied`" in page
    rows = taxonomy.property_rows()
    assert {r["event_name"] for r in rows} == set(taxonomy.events)
    assert sum(r["property"] is not None for r in rows) == sum(len(e.properties) for e in taxonomy.events.values())


@pytest.mark.scale
def test_throughput_of_the_validation(capsys, taxonomy: Taxonomy) -> None:
    import time

    n = 1_000_000
    rng = random.Random(3)
    templates = []
    for i in range(2000):
        name, props = random_event(rng, taxonomy)
        templates.append((i, name, props))
    connection = duckdb.connect()
    try:
        connection.execute("CREATE TABLE templates AS SELECT * FROM (SELECT unnest(?) AS i, unnest(?) AS event_name, "
                           "unnest(?) AS properties)", [list(x) for x in zip(*templates, strict=True)])
        connection.execute(f"CREATE TABLE events AS SELECT md5(r.i::VARCHAR) AS event_id, t.event_name, "
                           f"TRY_CAST(t.properties AS JSON) AS properties FROM range({n}) r(i) "
                           f"JOIN templates t ON t.i = r.i % {len(templates)}")
        figures = {}
        for label, sql in [
            ("copy", "SELECT * FROM events"),
            ("validation_sql", taxonomy.validation_sql("events", id_columns=("event_id",))),
            ("valid_rows_sql", taxonomy.valid_rows_sql("events")),
            ("conformance_predicate", f"SELECT * FROM events WHERE {taxonomy.conformance_predicate()}"),
        ]:
            start = time.perf_counter()
            connection.execute(f"CREATE OR REPLACE TEMP TABLE o AS {sql}")
            figures[label] = time.perf_counter() - start
        bad = connection.execute(f"SELECT count(DISTINCT event_id) FROM ({taxonomy.validation_sql('events', id_columns=('event_id',))})").fetchone()[0]
    finally:
        connection.close()
    with capsys.disabled():
        print(f"\n{n} events ({bad / n:.1%} violate): " + ", ".join(f"{k} {v:.2f} s" for k, v in figures.items()))
    assert 0 < bad < n
