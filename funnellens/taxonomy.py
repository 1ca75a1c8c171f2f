"""The product-event taxonomy: load it, validate events against it in SQL, document it.

The taxonomy lives in ``validation/taxonomy/events.yml``: every event name with its category,
description, and its required and optional properties with their JSON types (and optional
enums), plus the definition of the aha moment.

Validation is set-based SQL generated from the YAML; no Python runs per row.

- :meth:`Taxonomy.validation_sql` is a DuckDB query returning one row per violation (the row's
  id columns, the column, ``reason_code = 'taxonomy_violation'`` and a reason naming the event
  and the property), ready for ``raw.quarantine``; :meth:`Taxonomy.valid_rows_sql` returns the
  conforming rows. Both parse each row's JSON ``properties`` twice (the types of the event's
  properties, and the values of those with an enum or a timestamp) and check them with plain
  projections: these are the forms to use at event scale.
- :meth:`Taxonomy.violations_expression` is the same check as ONE scalar expression (the row's
  violations as a list; empty when it conforms) for places that need an expression: a DuckDB
  macro (:meth:`Taxonomy.create_macro_sql`), a dbt macro (:meth:`Taxonomy.to_dbt_macro`), a
  ``WHERE`` (:meth:`Taxonomy.conformance_predicate`), the pandera check. It uses a lambda per
  event, which makes it slower on large tables.

Typical use, in an ingest asset::

    tax = load_taxonomy()
    bad = con.sql(tax.validation_sql("raw.product_events")).df()      # rows to quarantine
    good = con.sql(tax.valid_rows_sql("raw.product_events"))          # rows that load
"""

from __future__ import annotations

import importlib.resources
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PROPERTY_TYPES: tuple[str, ...] = ("string", "integer", "number", "boolean", "timestamp", "object", "array")
"""JSON property types a taxonomy may use (see the header of events.yml)."""

AHA_RULES: tuple[str, ...] = ("first",)
"""How the aha-moment event counts: ``first`` = the user's first occurrence of the event."""

DEFAULT_ID_COLUMNS: tuple[str, ...] = ("event_id", "_source_file", "_file_hash", "_line")
"""Identifying columns of ``raw.product_events`` that :meth:`Taxonomy.validation_sql` returns."""

REASON_CODE = "taxonomy_violation"

# Which DuckDB json_type() results each taxonomy type accepts. `integer` also accepts an
# integral DOUBLE (1.0), as JSON Schema does; that is checked separately.
_ACCEPTED_JSON_TYPES: dict[str, tuple[str, ...]] = {
    "string": ("VARCHAR",),
    "integer": ("BIGINT", "UBIGINT", "HUGEINT", "DOUBLE"),
    "number": ("BIGINT", "UBIGINT", "HUGEINT", "DOUBLE"),
    "boolean": ("BOOLEAN",),
    "timestamp": ("VARCHAR",),
    "object": ("OBJECT",),
    "array": ("ARRAY",),
}

_EVENT_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_PROPERTY_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CATEGORY_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_TOP_LEVEL_KEYS = {"version", "categories", "aha_moment", "events"}
_EVENT_KEYS = {"category", "description", "required", "optional"}
_PROPERTY_KEYS = {"type", "description", "enum"}
_AHA_KEYS = {"event", "rule", "description"}


class TaxonomyError(ValueError):
    """The taxonomy file is invalid. The message lists every problem, each naming its event."""

    def __init__(self, path: str, problems: Sequence[str]) -> None:
        self.path = path
        self.problems = tuple(problems)
        listing = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"invalid event taxonomy {path} ({len(self.problems)} problem(s)):\n{listing}")


@dataclass(frozen=True)
class PropertySpec:
    """One property of an event: its name, JSON type, whether it is required, allowed values."""

    name: str
    type: str
    required: bool
    description: str = ""
    enum: tuple[str, ...] | None = None

    @property
    def path(self) -> str:
        """The DuckDB JSON path of the property (names are restricted to identifiers)."""
        return f"$.{self.name}"


@dataclass(frozen=True)
class EventSpec:
    name: str
    category: str
    description: str
    properties: tuple[PropertySpec, ...] = ()

    @property
    def required(self) -> tuple[PropertySpec, ...]:
        return tuple(p for p in self.properties if p.required)

    @property
    def optional(self) -> tuple[PropertySpec, ...]:
        return tuple(p for p in self.properties if not p.required)

    def property(self, name: str) -> PropertySpec:
        for prop in self.properties:
            if prop.name == name:
                return prop
        raise KeyError(f"event {self.name!r} has no property {name!r}")


@dataclass(frozen=True)
class AhaMoment:
    """The activation moment: the ``rule`` (``first``) occurrence of ``event`` per user."""

    event: str
    rule: str
    description: str = ""


@dataclass(frozen=True)
class Taxonomy:
    """A validated event taxonomy. Build it with :func:`load_taxonomy` or :meth:`from_dict`."""

    version: int
    categories: Mapping[str, str]
    events: Mapping[str, EventSpec]
    aha_moment: AhaMoment
    source: str = field(default="<dict>", compare=False)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_dict(cls, data: Any, *, source: str = "<dict>") -> Taxonomy:
        """Validate a parsed taxonomy document; raise :class:`TaxonomyError` listing every problem."""
        return _parse(data, source)

    def event(self, name: str) -> EventSpec:
        try:
            return self.events[name]
        except KeyError:
            raise KeyError(f"unknown event {name!r}: not in the taxonomy {self.source}") from None

    @property
    def event_names(self) -> tuple[str, ...]:
        return tuple(self.events)

    def events_in(self, category: str) -> tuple[EventSpec, ...]:
        return tuple(e for e in self.events.values() if e.category == category)

    # ------------------------------------------------------------------ SQL
    def violations_expression(self, name_column: str = "event_name", properties_column: str = "properties") -> str:
        """A DuckDB scalar expression: the row's violations as ``STRUCT(column_name, reason)[]``.

        The list is empty when the row conforms. ``name_column`` and ``properties_column`` are SQL
        expressions (a column name is quoted automatically when it is a plain identifier); the
        properties may be JSON or VARCHAR holding JSON text. JSON-typed input is fastest: VARCHAR
        input is parsed again by each ``TRY_CAST``.

        Checks, in order: the event name is present and known; properties is valid JSON and an
        object (or absent / null, which means no properties); every required property is present
        and not null; every present property has its declared type (``integer`` accepts integral
        numbers such as 1.0, ``timestamp`` is a string that casts to TIMESTAMP) and enum value.
        """
        n = _column_sql(name_column)
        raw_props = _column_sql(properties_column)
        props = f"TRY_CAST({raw_props} AS JSON)"  # free for JSON input; parses VARCHAR input
        branches = self._head_branches(n, raw_props, props)
        doc = f"coalesce({props}, '{{}}'::JSON)"
        no_property_events = [e.name for e in self.events.values() if not e.properties]
        for event in self.events.values():
            if not event.properties:
                continue
            # One parse of the document extracts all the event's properties; each check then
            # looks at one small JSON value.
            paths = ", ".join(_sql_str(p.path) for p in event.properties)
            cases = " ".join(
                f"WHEN {i} THEN {_property_check(event, prop, '__x', 'json_type(__x)', doc)}"
                for i, prop in enumerate(event.properties, 1)
            )
            branches.append(
                f"WHEN {n} = {_sql_str(event.name)} THEN list_filter(list_transform("
                f"json_extract({doc}, [{paths}]), lambda __x, __i: CASE __i {cases} END), "
                "lambda __v: __v IS NOT NULL)"
            )
        empty = f"list_filter([{_violation('event_name', 'NULL')}], lambda __x: false)"
        if no_property_events:
            names = ", ".join(_sql_str(name) for name in no_property_events)
            branches.append(f"WHEN {n} IN ({names}) THEN {empty}")
        body = "\n    ".join(branches)
        return f"(CASE\n    {body}\n    ELSE {empty}\nEND)"

    def conformance_predicate(self, name_column: str = "event_name", properties_column: str = "properties") -> str:
        """A SQL boolean: true when the row conforms to the taxonomy (``WHERE`` it for the good rows)."""
        return f"(len({self.violations_expression(name_column, properties_column)}) = 0)"

    def _head_branches(self, n: str, raw_props: str, props: str) -> list[str]:
        """CASE branches for the row-level problems: name missing or unknown, properties not an object."""
        known = ", ".join(_sql_str(name) for name in self.events)
        # An object's text starts with '{': cheaper than json_type(), which parses the document.
        not_object = (
            f"{props} IS NOT NULL AND NOT starts_with(ltrim(CAST({props} AS VARCHAR), ' ' || chr(9) || chr(10) "
            f"|| chr(13)), '{{') AND json_type({props}) <> 'NULL'"
        )
        return [
            f"WHEN {n} IS NULL THEN [{_violation('event_name', _sql_str('event name is missing'))}]",
            f"WHEN {n} NOT IN ({known}) THEN [{_violation('event_name', _unknown_event_reason(n))}]",
            f"WHEN {raw_props} IS NOT NULL AND {props} IS NULL THEN "
            f"[{_violation('properties', _sql_str('properties is not valid JSON'))}]",
            f"WHEN {not_object} THEN "
            f"[{_violation('properties', _type_mismatch_reason('properties', f'json_type({props})', 'an object'))}]",
        ]

    def _extract_sql(self, n: str, props: str, function: str = "json_extract") -> str:
        """One parse of the document per row: the types (``json_type``) of the row's event's
        properties, or the values (``json_extract``) of those that need their value checked (an
        enum or a timestamp, see :func:`_valued`), as a list."""
        doc = f"coalesce({props}, '{{}}'::JSON)"
        whens = []
        for e in self.events.values():
            props_ = e.properties if function == "json_type" else _valued(e)
            if props_:
                paths = ", ".join(_sql_str(p.path) for p in props_)
                whens.append(f"WHEN {_sql_str(e.name)} THEN {function}({doc}, [{paths}])")
        return f"CASE {n} {' '.join(whens)} END" if whens else "NULL"

    def _row_checks_sql(
        self, n: str, raw_props: str, props: str, values: str, types: str, *, unpacked: bool = False
    ) -> str:
        """The row's checks as a list whose non-NULL entries are its violations (``values`` and
        ``types`` are the columns holding :meth:`_extract_sql` with json_extract and json_type)."""
        branches = self._head_branches(n, raw_props, props)
        for event in self.events.values():
            if event.properties:
                valued = _valued(event)
                checks = ", ".join(
                    _property_check(
                        event, prop, _element(values, valued.index(prop) + 1, unpacked) if prop in valued else None,
                        _element(types, i, unpacked), props,
                    )
                    for i, prop in enumerate(event.properties, 1)
                )
                branches.append(f"WHEN {n} = {_sql_str(event.name)} THEN [{checks}]")
        empty = f"list_filter([{_violation('event_name', 'NULL')}], lambda __x: false)"
        return "(CASE\n    " + "\n    ".join(branches) + f"\n    ELSE {empty}\nEND)"

    def validation_sql(
        self,
        relation: str,
        properties_column: str = "properties",
        name_column: str = "event_name",
        id_columns: Sequence[str] = DEFAULT_ID_COLUMNS,
    ) -> str:
        """A set-based DuckDB query returning one row per taxonomy violation in ``relation``.

        ``relation`` is a table or view name, or a parenthesised subquery. The result columns are
        ``id_columns`` (as they are; pass the ones the relation has), then ``event_name``,
        ``column_name`` (``event_name``, ``properties`` or ``properties.<property>``),
        ``reason_code`` (always ``'taxonomy_violation'``) and ``reason`` (human-readable, naming the
        event and the property). Conforming rows produce no output; a row with several problems
        produces several rows. The checks are those of :meth:`violations_expression`, written as
        plain projections (no lambda per event), which is several times faster at scale.
        """
        ids = [_column_sql(c) for c in id_columns]
        id_select = "".join(f"{c}, " for c in ids)
        n, p = _column_sql(name_column), _column_sql(properties_column)
        # Only rows with a violation are unnested (a conforming row's list holds only NULLs).
        return (
            f"SELECT {id_select}__fl_n AS event_name, __fl_v.column_name AS column_name, "
            f"'{REASON_CODE}' AS reason_code, __fl_v.reason AS reason\n"
            f"FROM (\n  SELECT {id_select}__fl_n, unnest(__fl_c) AS __fl_v\n"
            f"  FROM ({self._checked_sql(f'SELECT {id_select}{n} AS __fl_n, {p} AS __fl_p FROM {relation}', '__fl_n', '__fl_p')})\n"
            f"  WHERE list_count(__fl_c) > 0\n) AS __taxonomy_violations\nWHERE __fl_v IS NOT NULL"
        )

    def valid_rows_sql(
        self, relation: str, properties_column: str = "properties", name_column: str = "event_name"
    ) -> str:
        """A set-based DuckDB query returning the rows of ``relation`` that conform (all its columns)."""
        n, p = _column_sql(name_column), _column_sql(properties_column)
        return (
            f"SELECT * EXCLUDE (__fl_c) FROM ({self._checked_sql(f'SELECT * FROM {relation}', n, p)}) "
            "AS __taxonomy_checked WHERE list_count(__fl_c) = 0"
        )

    def _checked_sql(self, source: str, n: str, p: str) -> str:
        """``source``'s columns plus ``__fl_c``, the list of check results (non-NULL = violation).

        Projections, no lambdas: parse each document once for the values and once for the types
        of its event's properties, unpack both lists into columns, then run the checks.
        """
        width = max((len(e.properties) for e in self.events.values()), default=0)
        valued_width = max((len(_valued(e)) for e in self.events.values()), default=0)
        checks = self._row_checks_sql(n, p, "__fl_j", "__fl_x", "__fl_t", unpacked=True)
        unpack = "".join(f", __fl_t[{i}] AS __fl_t{i}" for i in range(1, width + 1))
        unpack += "".join(f", __fl_x[{i}] AS __fl_x{i}" for i in range(1, valued_width + 1))
        drop = ", ".join(["__fl_j"] + [f"__fl_t{i}" for i in range(1, width + 1)]
                         + [f"__fl_x{i}" for i in range(1, valued_width + 1)])
        return (
            f"SELECT * EXCLUDE ({drop}), {checks} AS __fl_c FROM (\n"
            f"  SELECT * EXCLUDE (__fl_x, __fl_t){unpack} FROM (\n"
            f"    SELECT *, {self._extract_sql(n, '__fl_j')} AS __fl_x, {self._extract_sql(n, '__fl_j', 'json_type')} "
            f"AS __fl_t FROM (SELECT *, TRY_CAST({p} AS JSON) AS __fl_j FROM ({source}))\n  )\n)"
        )

    def create_macro_sql(self, name: str = "fl_taxonomy_violations", *, temporary: bool = True) -> str:
        """``CREATE MACRO name(event_name, properties)`` returning the violations list.

        Temporary macros are private to one connection (a cursor does not see them), so nothing is
        written to the warehouse file; pass ``temporary=False`` to store it in the database.
        """
        if not _PROPERTY_NAME_RE.match(name):
            raise ValueError(f"macro name {name!r} is not a plain SQL identifier")
        temp = "TEMP " if temporary else ""
        expr = self.violations_expression("_fl_event_name", "_fl_properties")
        return f"CREATE OR REPLACE {temp}MACRO {name}(_fl_event_name, _fl_properties) AS {expr}"

    def to_dbt_macro(self, macro_name: str = "taxonomy_violations") -> str:
        """A dbt macro file: ``{{ taxonomy_violations('event_name', 'properties') }}`` inlines the check.

        The arguments are SQL expressions. Regenerate the file when events.yml changes (a test can
        compare the committed file with this output).
        """
        expr = self.violations_expression("__FL_NAME__", "__FL_PROPS__")
        expr = expr.replace("__FL_NAME__", "{{ event_name }}").replace("__FL_PROPS__", "{{ properties }}")
        return (
            "{#- Generated by funnellens.taxonomy from validation/taxonomy/events.yml: do not edit.\n"
            "    Regenerate with: python -c \"from funnellens.taxonomy import load_taxonomy; "
            "print(load_taxonomy().to_dbt_macro(), end='')\" > <this file>\n"
            "    Returns the row's taxonomy violations as STRUCT(column_name, reason)[]; empty = conforms. -#}\n"
            f"{{% macro {macro_name}(event_name='event_name', properties='properties') -%}}\n"
            f"{expr}\n"
            "{%- endmacro %}\n"
        )

    # ------------------------------------------------------------------ pandas / pandera
    def validate_frame(
        self, frame: Any, name_column: str = "event_name", properties_column: str = "properties"
    ) -> Any:
        """Violations of a pandas DataFrame, computed by DuckDB (set-based).

        Returns a DataFrame with ``row`` (the 0-based position in ``frame``), ``event_name``,
        ``column_name``, ``reason_code`` and ``reason``. ``properties`` may hold JSON text or, for
        small frames, dicts (serialised here).
        """
        import duckdb
        import pandas as pd

        data = pd.DataFrame(
            {
                "__row": range(len(frame)),
                "__name": frame[name_column].astype("object").where(frame[name_column].notna(), None),
                "__props": _as_json_text(frame[properties_column]),
            }
        )
        con = duckdb.connect()
        try:
            con.register("__frame", data)
            sql = self.validation_sql(
                "(SELECT __row, __name, CAST(__props AS VARCHAR) AS __props FROM __frame)",
                properties_column="__props",
                name_column="__name",
                id_columns=("__row",),
            )
            result = con.sql(f"SELECT * FROM ({sql}) ORDER BY __row, column_name").df()
        finally:
            con.close()
        return result.rename(columns={"__row": "row"})

    def to_pandera_check(self, name_column: str = "event_name", properties_column: str = "properties") -> Any:
        """A DataFrame-wide ``pandera.Check``: true for every row that conforms to the taxonomy.

        Use it in a ``DataFrameSchema(checks=[...])``; the failure cases are the offending rows.
        """
        import numpy as np
        import pandas as pd
        import pandera.pandas as pa

        def conforms(frame: pd.DataFrame) -> pd.Series:
            bad = self.validate_frame(frame, name_column, properties_column)
            ok = np.ones(len(frame), dtype=bool)
            ok[bad["row"].to_numpy(dtype=np.int64)] = False
            return pd.Series(ok, index=frame.index)

        return pa.Check(
            conforms,
            name="taxonomy_conformance",
            error=f"event does not conform to the taxonomy {self.source} (reason_code {REASON_CODE})",
        )

    # ------------------------------------------------------------------ documentation
    def property_rows(self) -> list[dict[str, Any]]:
        """One record per (event, property), plus one per event without properties (for seeds/BI)."""
        rows: list[dict[str, Any]] = []
        for event in self.events.values():
            base = {"event_name": event.name, "category": event.category, "event_description": event.description}
            if not event.properties:
                rows.append({**base, "property": None, "type": None, "required": None, "enum": None,
                             "property_description": None})
            for prop in event.properties:
                rows.append({**base, "property": prop.name, "type": prop.type, "required": prop.required,
                             "enum": list(prop.enum) if prop.enum else None,
                             "property_description": prop.description})
        return rows

    def to_markdown(self) -> str:
        """The taxonomy as a documentation page (Markdown), deterministic for a given file."""
        out: list[str] = [
            "# Product-event taxonomy",
            "",
            f"Generated from `{_display_source(self.source)}` (version {self.version}) by "
            "`funnellens.taxonomy.Taxonomy.to_markdown()`. Do not edit by hand.",
            "",
            f"{len(self.events)} events in {len(self.categories)} categories. Events are validated in SQL: "
            "an unknown event name, a missing required property or a property of the wrong type is "
            f"quarantined with reason code `{REASON_CODE}`; properties not listed here are allowed. "
            "Free-text properties are PII-scrubbed and truncated to 5,000 characters in staging.",
            "",
            "## Aha moment",
            "",
            f"The **{self.aha_moment.rule}** `{self.aha_moment.event}` of a user. {self.aha_moment.description}",
            "",
            "## Property types",
            "",
            "| type | JSON value |",
            "|---|---|",
            "| string | a string |",
            "| integer | a number with no fractional part (1 and 1.0) |",
            "| number | any number |",
            "| boolean | true or false |",
            "| timestamp | an ISO 8601 date-time string, e.g. `2024-05-01T12:30:00Z` |",
            "| object | an object |",
            "| array | an array |",
            "",
            "## Categories",
            "",
            "| category | events | description |",
            "|---|---|---|",
        ]
        for key, description in self.categories.items():
            names = ", ".join(f"`{e.name}`" for e in self.events_in(key))
            out.append(f"| `{key}` | {names} | {_md_cell(description)} |")
        for key, description in self.categories.items():
            out += ["", f"## {_category_title(key, description)}", "", _md_text(description)]
            for event in self.events_in(key):
                out += ["", f"### `{event.name}`", "", _md_text(event.description), ""]
                if not event.properties:
                    out.append("No properties.")
                    continue
                out += ["| property | type | required | allowed values | description |", "|---|---|---|---|---|"]
                for prop in event.properties:
                    allowed = ", ".join(f"`{v}`" for v in prop.enum) if prop.enum else ""
                    out.append(
                        f"| `{prop.name}` | {prop.type} | {'yes' if prop.required else 'no'} | {allowed} | "
                        f"{_md_cell(prop.description)} |"
                    )
        return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------
# Loading and validation of the YAML
# ---------------------------------------------------------------------------------------


def default_taxonomy_path() -> Path:
    """``validation/taxonomy/events.yml`` (package data of ``validation``)."""
    return Path(str(importlib.resources.files("validation").joinpath("taxonomy", "events.yml")))


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Load and validate the taxonomy YAML (default: :func:`default_taxonomy_path`).

    Raises :class:`TaxonomyError` listing every problem (unknown types, duplicate event or
    property names, unknown categories, malformed entries), each naming the event and property;
    ``FileNotFoundError`` when the file does not exist.
    """
    file = Path(path) if path is not None else default_taxonomy_path()
    if not file.is_file():
        raise FileNotFoundError(f"event taxonomy not found: {file}")
    text = file.read_text(encoding="utf-8")
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - SafeLoader subclass
    except _DuplicateKeyError as exc:
        raise TaxonomyError(str(file), [str(exc)]) from None
    except yaml.YAMLError as exc:
        raise TaxonomyError(str(file), [f"not valid YAML: {exc}"]) from None
    return _parse(data, str(file))


class _DuplicateKeyError(yaml.YAMLError):
    pass


class _UniqueKeyLoader(yaml.SafeLoader):
    """A SafeLoader that rejects duplicate mapping keys (PyYAML silently keeps the last one)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:  # type: ignore[override]
        seen: dict[Any, int] = {}
        context = _mapping_context(node)
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise _DuplicateKeyError(
                    f"duplicate name {key!r}{context} at line {line} (first defined at line {seen[key]})"
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def _mapping_context(node: yaml.MappingNode) -> str:
    return f" in the mapping starting at line {node.start_mark.line + 1}"


def _parse(data: Any, source: str) -> Taxonomy:
    problems: list[str] = []
    if not isinstance(data, dict):
        raise TaxonomyError(source, ["the document must be a mapping with keys: " + ", ".join(sorted(_TOP_LEVEL_KEYS))])
    for key in sorted(set(data) - _TOP_LEVEL_KEYS, key=str):
        problems.append(f"unknown top-level key {key!r} (allowed: {', '.join(sorted(_TOP_LEVEL_KEYS))})")

    version = data.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool):
        problems.append(f"version must be an integer, got {version!r}")
        version = 0

    categories: dict[str, str] = {}
    raw_categories = data.get("categories")
    if not isinstance(raw_categories, dict) or not raw_categories:
        problems.append("categories must be a non-empty mapping of category key -> description")
    else:
        for key, description in raw_categories.items():
            if not isinstance(key, str) or not _CATEGORY_RE.match(key):
                problems.append(f"category {key!r}: the key must be lower snake case")
                continue
            if not isinstance(description, str) or not description.strip():
                problems.append(f"category {key!r}: the description must be a non-empty string")
                description = ""
            categories[key] = description.strip()

    events: dict[str, EventSpec] = {}
    raw_events = data.get("events")
    if not isinstance(raw_events, dict) or not raw_events:
        problems.append("events must be a non-empty mapping of event name -> definition")
        raw_events = {}
    for name, spec in raw_events.items():
        event = _parse_event(name, spec, categories, raw_categories is not None, problems)
        if event is not None:
            events[event.name] = event

    aha = _parse_aha(data.get("aha_moment"), events, problems)
    if problems:
        raise TaxonomyError(source, problems)
    return Taxonomy(version=version, categories=categories, events=events, aha_moment=aha, source=source)


def _parse_event(
    name: Any, spec: Any, categories: dict[str, str], have_categories: bool, problems: list[str]
) -> EventSpec | None:
    if not isinstance(name, str) or not _EVENT_NAME_RE.match(name):
        problems.append(f"event {name!r}: the name must be lower snake case ([a-z][a-z0-9_]*)")
        return None
    where = f"event {name!r}"
    if not isinstance(spec, dict):
        problems.append(f"{where}: the definition must be a mapping with category, description, required, optional")
        return None
    for key in sorted(set(spec) - _EVENT_KEYS, key=str):
        problems.append(f"{where}: unknown key {key!r} (allowed: {', '.join(sorted(_EVENT_KEYS))})")
    category = spec.get("category")
    if not isinstance(category, str) or not category:
        problems.append(f"{where}: category is missing")
    elif have_categories and category not in categories:
        problems.append(
            f"{where}: unknown category {category!r} (declared categories: {', '.join(categories) or 'none'})"
        )
    description = spec.get("description")
    if not isinstance(description, str) or not description.strip():
        problems.append(f"{where}: description is missing")
        description = ""

    properties: list[PropertySpec] = []
    seen: dict[str, str] = {}
    for section, required in (("required", True), ("optional", False)):
        block = spec.get(section)
        if block is None:
            continue
        if not isinstance(block, dict):
            problems.append(f"{where}: {section} must be a mapping of property name -> {{type: ...}}")
            continue
        for prop_name, prop_spec in block.items():
            prop = _parse_property(where, section, prop_name, prop_spec, required, problems)
            if prop is None:
                continue
            if prop.name in seen:
                problems.append(
                    f"{where}: property {prop.name!r} is defined twice (in {seen[prop.name]} and {section})"
                )
                continue
            seen[prop.name] = section
            properties.append(prop)
    return EventSpec(name=name, category=str(category or ""), description=description.strip(),
                     properties=tuple(properties))


def _parse_property(
    where: str, section: str, name: Any, spec: Any, required: bool, problems: list[str]
) -> PropertySpec | None:
    if not isinstance(name, str) or not _PROPERTY_NAME_RE.match(name):
        problems.append(f"{where}: {section} property {name!r}: the name must be an identifier ([A-Za-z_][A-Za-z0-9_]*)")
        return None
    here = f"{where}: property {name!r}"
    if isinstance(spec, str):  # shorthand `prop: string`
        spec = {"type": spec}
    if not isinstance(spec, dict):
        problems.append(f"{here}: the definition must be a mapping with a type (or just the type name)")
        return None
    for key in sorted(set(spec) - _PROPERTY_KEYS, key=str):
        problems.append(f"{here}: unknown key {key!r} (allowed: {', '.join(sorted(_PROPERTY_KEYS))})")
    ptype = spec.get("type")
    if ptype not in PROPERTY_TYPES:
        problems.append(f"{here}: unknown type {ptype!r} (expected one of: {', '.join(PROPERTY_TYPES)})")
        return None
    description = spec.get("description") or ""
    if not isinstance(description, str):
        problems.append(f"{here}: description must be a string")
        description = ""
    enum = spec.get("enum")
    values: tuple[str, ...] | None = None
    if enum is not None:
        if ptype != "string":
            problems.append(f"{here}: enum is only supported for string properties, not {ptype}")
        elif not isinstance(enum, list) or not enum or not all(isinstance(v, str) for v in enum):
            problems.append(f"{here}: enum must be a non-empty list of strings")
        elif len(set(enum)) != len(enum):
            problems.append(f"{here}: enum lists a value twice")
        else:
            values = tuple(enum)
    return PropertySpec(name=name, type=ptype, required=required, description=description.strip(), enum=values)


def _parse_aha(spec: Any, events: dict[str, EventSpec], problems: list[str]) -> AhaMoment:
    if not isinstance(spec, dict):
        problems.append("aha_moment must be a mapping with event, rule and description")
        return AhaMoment(event="", rule="first")
    for key in sorted(set(spec) - _AHA_KEYS, key=str):
        problems.append(f"aha_moment: unknown key {key!r} (allowed: {', '.join(sorted(_AHA_KEYS))})")
    event = spec.get("event")
    if event not in events:
        problems.append(f"aha_moment: event {event!r} is not an event of the taxonomy")
    rule = spec.get("rule", "first")
    if rule not in AHA_RULES:
        problems.append(f"aha_moment: unknown rule {rule!r} (expected one of: {', '.join(AHA_RULES)})")
    description = spec.get("description") or ""
    return AhaMoment(event=str(event or ""), rule=str(rule), description=str(description).strip())


# ---------------------------------------------------------------------------------------
# SQL generation helpers
# ---------------------------------------------------------------------------------------

_IDENTIFIER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _column_sql(column: str) -> str:
    """Quote a plain identifier; pass any other SQL expression through unchanged."""
    return f'"{column}"' if _IDENTIFIER_RE.match(column) else column


def _violation(column: str, reason_sql: str) -> str:
    return f"struct_pack(column_name := {_sql_str(column)}, reason := CAST({reason_sql} AS VARCHAR))"


def _json_type_name(type_sql: str) -> str:
    """SQL mapping DuckDB's json_type() names onto the taxonomy's type vocabulary."""
    return (
        f"CASE {type_sql} WHEN 'VARCHAR' THEN 'string' WHEN 'BIGINT' THEN 'integer' "
        f"WHEN 'UBIGINT' THEN 'integer' WHEN 'HUGEINT' THEN 'integer' WHEN 'DOUBLE' THEN 'number' "
        f"WHEN 'BOOLEAN' THEN 'boolean' WHEN 'OBJECT' THEN 'object' WHEN 'ARRAY' THEN 'array' "
        f"ELSE lower({type_sql}) END"
    )


def _type_mismatch_reason(subject: str, type_sql: str, expected: str) -> str:
    return f"{_sql_str(subject + ' has type ')} || {_json_type_name(type_sql)} || {_sql_str(', expected ' + expected)}"


def _unknown_event_reason(name_sql: str) -> str:
    return f"'unknown event name ''' || left(CAST({name_sql} AS VARCHAR), 100) || ''' (not in the taxonomy)'"


def _element(column: str, index: int, unpacked: bool) -> str:
    """The SQL of element ``index`` of a list column, or of its unpacked column ``<column><index>``."""
    return f"{column}{index}" if unpacked else f"{column}[{index}]"


def _valued(event: EventSpec) -> list[PropertySpec]:
    """The event's properties whose value (not only its type) is checked: enums and timestamps."""
    return [p for p in event.properties if p.enum or p.type == "timestamp"]


def _property_check(event: EventSpec, prop: PropertySpec, x: str | None, jt: str, doc: str) -> str:
    """CASE expression: a violation struct for the property, or NULL when it conforms.

    ``jt`` is the SQL of the property's json_type() (NULL when absent), ``x`` the SQL of its
    JSON value (given for enum and timestamp properties, see :func:`_valued`), ``doc`` the SQL of
    the document: the integral check of an ``integer`` extracts the value from it only for the
    rare DOUBLE.
    """
    col = f"properties.{prop.name}"
    prefix = f"event {event.name}: "
    subject = f"{prefix}property {prop.name}"
    accepted = ", ".join(_sql_str(t) for t in _ACCEPTED_JSON_TYPES[prop.type])
    whens = []
    if prop.required:
        whens.append(f"WHEN {jt} IS NULL THEN {_violation(col, _sql_str(prefix + 'missing required property ' + prop.name))}")
        whens.append(f"WHEN {jt} = 'NULL' THEN {_violation(col, _sql_str(prefix + 'required property ' + prop.name + ' is null'))}")
    else:
        whens.append(f"WHEN {jt} IS NULL OR {jt} = 'NULL' THEN NULL")
    whens.append(f"WHEN {jt} NOT IN ({accepted}) THEN {_violation(col, _type_mismatch_reason(subject, jt, prop.type))}")
    if prop.type == "integer":
        number = f"CAST(json_extract({doc}, {_sql_str(prop.path)}) AS DOUBLE)"
        whens.append(
            f"WHEN {jt} = 'DOUBLE' AND {number} <> floor({number}) THEN "
            f"{_violation(col, _sql_str(subject + ' has type number, expected integer'))}"
        )
    if prop.type == "timestamp":
        whens.append(
            f"WHEN TRY_CAST({x} ->> '$' AS TIMESTAMP) IS NULL THEN "
            f"{_violation(col, _sql_str(subject + ' is a string but not an ISO 8601 timestamp'))}"
        )
    if prop.enum:
        allowed = ", ".join(_sql_str(v) for v in prop.enum)
        whens.append(
            f"WHEN ({x} ->> '$') NOT IN ({allowed}) THEN "
            f"{_violation(col, _sql_str(subject + ' is not one of: ' + ', '.join(prop.enum)))}"
        )
    return "(CASE " + " ".join(whens) + " ELSE NULL END)"


def _as_json_text(series: Any) -> Any:
    """JSON text for a properties column holding text, dicts/lists or missing values."""
    import pandas as pd

    def encode(value: Any) -> Any:
        if value is None or (isinstance(value, float) and value != value):
            return None
        if isinstance(value, (dict, list)):
            return json.dumps(value, ensure_ascii=False)
        return str(value)

    values: Iterable[Any] = series.astype("object")
    if any(isinstance(v, (dict, list)) for v in values):
        return series.astype("object").map(encode)
    return series.astype("object").where(pd.notna(series), None)


def _display_source(source: str) -> str:
    try:
        from funnellens.config import PROJECT_ROOT

        return str(Path(source).resolve().relative_to(PROJECT_ROOT))
    except (ValueError, OSError):
        return source


def _category_title(key: str, description: str) -> str:
    head = description.split(" - ", 1)[0].strip()
    return head or key


def _md_text(text: str) -> str:
    return " ".join(text.split())


def _md_cell(text: str) -> str:
    return _md_text(text).replace("|", "\\|")
