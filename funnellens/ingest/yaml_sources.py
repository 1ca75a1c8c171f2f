"""Funnel and A/B test definitions (YAML): validated and flattened to one row per step / variant.

A definition that breaks a rule is quarantined as a whole (one quarantine row at the line where
the definition starts, naming the rule); the other definitions of the file still load. Definitions
are few, so they are checked one by one in Python; there is nothing event-scale here.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
import yaml

from funnellens.contract import FUNNEL_ORDER_MODES, Source
from funnellens.ingest.csv_reader import RAW_TEXT_LIMIT, decode_bytes
from funnellens.ingest.errors import FileRejected
from funnellens.ingest.headers import normalize_key
from funnellens.ingest.landing import LandingFile
from funnellens.ingest.rows import QUARANTINE_FRAME_COLUMNS, ParsedFile
from funnellens.ingest.values import parse_timestamps

DEFAULT_ORDER_MODE = "sequential"
DEFAULT_CONVERSION_WINDOW_DAYS = 14.0
DEFAULT_ALPHA = 0.05
SPLIT_TOLERANCE = 1e-6

FUNNEL_KEYS = {"id": "id", "funnel_id": "id", "name": "name", "funnel_name": "name", "order_mode": "order_mode",
               "mode": "order_mode", "conversion_window_days": "conversion_window_days",
               "window_days": "conversion_window_days", "steps": "steps"}
STEP_KEYS = {"id": "id", "step_id": "id", "name": "name", "step_name": "name"}
TEST_KEYS = {"id": "id", "ab_test_id": "id", "test_id": "id", "name": "name", "ab_test_name": "name",
             "funnel_id": "funnel_id", "funnel": "funnel_id", "conversion_step_id": "conversion_step_id",
             "started_at": "started_at", "start": "started_at", "ended_at": "ended_at", "end": "ended_at",
             "alpha": "alpha", "variants": "variants"}
VARIANT_KEYS = {"id": "id", "variant_id": "id", "name": "name", "variant_name": "name", "control": "control",
                "is_control": "control", "traffic_split": "traffic_split", "split": "traffic_split",
                "weight": "traffic_split"}


class DefinitionError(Exception):
    """A definition breaks a rule: reason code, column and a message."""

    def __init__(self, code: str, column: str | None, message: str) -> None:
        super().__init__(message)
        self.code, self.column, self.message = code, column, message


def _load(data: bytes, file: LandingFile) -> tuple[yaml.Node | None, Any, list[str]]:
    text, _enc = decode_bytes(data, file.rel)
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            value = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise FileRejected("unreadable_file", f"{file.rel}: not valid YAML{where}: {problem}") from None
    return node, value, text.replace("\r\n", "\n").split("\n")


def _items(node: yaml.Node | None, value: Any, key: str, file: LandingFile) -> list[tuple[yaml.Node, Any]]:
    """The (node, value) pairs of the top-level list ``key:`` (or of a top-level list)."""
    if isinstance(node, yaml.SequenceNode) and isinstance(value, list):
        return list(zip(node.value, value, strict=True))
    if isinstance(node, yaml.MappingNode) and isinstance(value, dict):
        for k_node, v_node in node.value:
            if normalize_key(str(k_node.value)) == key and isinstance(v_node, yaml.SequenceNode):
                return list(zip(v_node.value, value[k_node.value], strict=True))
    raise FileRejected(
        "unreadable_file", f"{file.rel}: expected a top-level '{key}:' list of definitions"
    )


def _canon(obj: Any, keys: dict[str, str], where: str, unknown: set[str]) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise DefinitionError("invalid_value", None, f"{where} is not a mapping of keys to values")
    out: dict[str, Any] = {}
    for k, v in obj.items():
        name = keys.get(normalize_key(str(k)))
        if name is None:
            unknown.add(str(k))
        else:
            out[name] = v
    return out


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _number(value: Any, column: str, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise DefinitionError("invalid_number", column, f"{what} {value!r} is not a number")
    try:
        number = float(value)
    except ValueError:
        raise DefinitionError("invalid_number", column, f"{what} {value!r} is not a number") from None
    if not math.isfinite(number):
        raise DefinitionError("invalid_number", column, f"{what} {value!r} is not a finite number")
    return number


def _timestamp(value: Any, column: str) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    parsed, bad = parse_timestamps(pd.Series([str(value)], dtype="str"))
    if bad.iloc[0]:
        raise DefinitionError("invalid_timestamp", column, f"{column} {value!r} is not a timestamp")
    return parsed.iloc[0].to_pydatetime()


def _bool(value: Any, column: str) -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    text = str(value).strip().lower()
    if text in {"true", "yes", "y", "1"}:
        return True
    if text in {"false", "no", "n", "0", ""}:
        return False
    raise DefinitionError("invalid_value", column, f"control {value!r} is not true or false")


# ---------------------------------------------------------------------------------------------


def funnel_rows(obj: Any, unknown: set[str]) -> list[dict[str, Any]]:
    """Validate one funnel definition and flatten it to one row per step (raises DefinitionError)."""
    f = _canon(obj, FUNNEL_KEYS, "the funnel definition", unknown)
    funnel_id = _text(f.get("id"))
    if funnel_id is None:
        raise DefinitionError("missing_required", "funnel_id", "the funnel has no id")
    label = f"funnel {funnel_id!r}"
    mode = (_text(f.get("order_mode")) or DEFAULT_ORDER_MODE).lower()
    if mode not in FUNNEL_ORDER_MODES:
        raise DefinitionError("invalid_value", "order_mode",
                              f"{label}: order_mode {mode!r} is not one of: {', '.join(FUNNEL_ORDER_MODES)}")
    window_raw = f.get("conversion_window_days")
    window = DEFAULT_CONVERSION_WINDOW_DAYS if window_raw is None else _number(
        window_raw, "conversion_window_days", f"{label}: conversion_window_days")
    if window <= 0:
        raise DefinitionError("invalid_value", "conversion_window_days",
                              f"{label}: conversion_window_days {window_raw!r} must be > 0")
    steps = f.get("steps")
    if not isinstance(steps, list) or not steps:
        raise DefinitionError("missing_required", "step_id", f"{label} has no steps (a non-empty list)")
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for position, step in enumerate(steps, start=1):
        if isinstance(step, str | int):
            s = {"id": step}
        else:
            s = _canon(step, STEP_KEYS, f"{label} step {position}", unknown)
        step_id = _text(s.get("id"))
        if step_id is None:
            raise DefinitionError("missing_required", "step_id", f"{label}: step {position} has no id")
        if step_id in seen:
            raise DefinitionError("invalid_value", "step_id", f"{label}: step id {step_id!r} is used twice")
        seen.add(step_id)
        rows.append({
            "funnel_id": funnel_id, "funnel_name": _text(f.get("name")), "order_mode": mode,
            "conversion_window_days": window, "step_id": step_id, "step_name": _text(s.get("name")),
            "step_order": position,
        })
    return rows


def ab_test_rows(obj: Any, unknown: set[str]) -> list[dict[str, Any]]:
    """Validate one A/B test definition and flatten it to one row per variant.

    Rules: an id; two or more variants with unique ids; exactly one control; every traffic split in
    [0, 1] and the splits summing to 1 within 1e-6; alpha in (0, 1) (default 0.05); ended_at not
    before started_at.
    """
    t = _canon(obj, TEST_KEYS, "the A/B test definition", unknown)
    test_id = _text(t.get("id"))
    if test_id is None:
        raise DefinitionError("missing_required", "ab_test_id", "the A/B test has no id")
    label = f"A/B test {test_id!r}"
    alpha = DEFAULT_ALPHA if t.get("alpha") is None else _number(t["alpha"], "alpha", f"{label}: alpha")
    if not 0 < alpha < 1:
        raise DefinitionError("invalid_value", "alpha", f"{label}: alpha {t['alpha']!r} must be in (0, 1)")
    started = _timestamp(t.get("started_at"), "started_at")
    ended = _timestamp(t.get("ended_at"), "ended_at")
    if started and ended and ended < started:
        raise DefinitionError("invalid_value", "ended_at", f"{label}: ended_at {ended} is before started_at {started}")
    variants = t.get("variants")
    if not isinstance(variants, list) or len(variants) < 2:
        raise DefinitionError("invalid_value", "variant_id", f"{label} needs a list of at least two variants")
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for position, variant in enumerate(variants, start=1):
        v = _canon(variant, VARIANT_KEYS, f"{label} variant {position}", unknown)
        variant_id = _text(v.get("id"))
        if variant_id is None:
            raise DefinitionError("missing_required", "variant_id", f"{label}: variant {position} has no id")
        if variant_id in seen:
            raise DefinitionError("invalid_value", "variant_id", f"{label}: variant id {variant_id!r} is used twice")
        seen.add(variant_id)
        if v.get("traffic_split") is None:
            raise DefinitionError("missing_required", "traffic_split",
                                  f"{label}: variant {variant_id!r} has no traffic_split")
        split = _number(v["traffic_split"], "traffic_split", f"{label}: variant {variant_id!r} traffic_split")
        if not 0 <= split <= 1:
            raise DefinitionError("invalid_value", "traffic_split",
                                  f"{label}: variant {variant_id!r} traffic_split {split} is not in [0, 1]")
        rows.append({
            "ab_test_id": test_id, "ab_test_name": _text(t.get("name")), "funnel_id": _text(t.get("funnel_id")),
            "conversion_step_id": _text(t.get("conversion_step_id")), "started_at": started, "ended_at": ended,
            "alpha": alpha, "variant_id": variant_id, "variant_name": _text(v.get("name")),
            "is_control": _bool(v.get("control"), "is_control"), "traffic_split": split,
        })
    controls = [r["variant_id"] for r in rows if r["is_control"]]
    if len(controls) != 1:
        found = ", ".join(repr(c) for c in controls) or "none"
        raise DefinitionError("invalid_value", "is_control",
                              f"{label} must have exactly one control variant (found {len(controls)}: {found})")
    total = math.fsum(r["traffic_split"] for r in rows)
    if abs(total - 1.0) > SPLIT_TOLERANCE:
        raise DefinitionError("invalid_value", "traffic_split",
                              f"{label}: traffic splits sum to {total:.6g}, not 1 (tolerance {SPLIT_TOLERANCE:g})")
    return rows


YAML_DEFINITIONS: dict[str, tuple[str, Callable[[Any, set[str]], list[dict[str, Any]]]]] = {
    "funnels": ("funnels", funnel_rows),
    "ab_tests": ("ab_tests", ab_test_rows),
}


def parse_yaml(source: Source, file: LandingFile, data: bytes) -> ParsedFile:
    """Parse one YAML definitions file of ``source`` (raises FileRejected if it cannot be read)."""
    top_key, flatten = YAML_DEFINITIONS[source.name]
    node, value, lines = _load(data, file)
    items = _items(node, value, top_key, file)
    rows: list[dict[str, Any]] = []
    quarantine: list[dict[str, Any]] = []
    unknown: set[str] = set()
    for item_node, item in items:
        start, end = item_node.start_mark.line, max(item_node.end_mark.line, item_node.start_mark.line + 1)
        raw_text = "\n".join(lines[start:end]).rstrip()[:RAW_TEXT_LIMIT]
        try:
            flat = flatten(item, unknown)
        except DefinitionError as err:
            col = f": column {err.column}" if err.column else ""
            quarantine.append({
                "_line": start + 1, "column_name": err.column, "reason_code": err.code,
                "reason": f"{file.rel}:{start + 1}{col}: {err.code}: {err.message}", "raw_text": raw_text,
            })
            continue
        step_nodes = _child_sequence(item_node)
        for i, row in enumerate(flat):
            if i < len(step_nodes):  # a step / variant row points at its own lines
                s0, s1 = step_nodes[i].start_mark.line, step_nodes[i].end_mark.line
                rows.append({**row, "_line": s0 + 1,
                             "_raw_text": "\n".join(lines[s0:max(s1, s0 + 1)]).rstrip()[:RAW_TEXT_LIMIT]})
            else:
                rows.append({**row, "_line": start + 1, "_raw_text": raw_text})
    frame = pd.DataFrame(rows, columns=[*(c.name for c in source.columns), "_line", "_raw_text"])
    for col in source.columns:
        if col.dtype == "TIMESTAMP":
            frame[col.name] = pd.to_datetime(frame[col.name]).astype("datetime64[us]")
    q = pd.DataFrame(quarantine, columns=list(QUARANTINE_FRAME_COLUMNS))
    warnings = [f"ignored unknown keys: {', '.join(sorted(repr(k) for k in unknown))}"] if unknown else []
    return ParsedFile(rows=frame, quarantine=q, warnings=warnings)


def _child_sequence(node: yaml.Node) -> list[yaml.Node]:
    """The nodes of the steps / variants list of a definition (for their line numbers)."""
    if isinstance(node, yaml.MappingNode):
        for k_node, v_node in node.value:
            if normalize_key(str(k_node.value)) in {"steps", "variants"} and isinstance(v_node, yaml.SequenceNode):
                return list(v_node.value)
    return []
