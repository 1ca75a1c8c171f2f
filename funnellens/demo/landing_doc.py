"""The generated part of ``docs/landing-zone.md``: one section per source, from the contract.

The prose of the document is written by hand; the per-source tables and the reason codes
between the ``BEGIN``/``END`` markers come from ``funnellens.contract`` and are checked in.
A test fails when they drift apart. Regenerate with::

    python -m funnellens.demo.landing_doc docs/landing-zone.md
"""

from __future__ import annotations

import sys
from pathlib import Path

from funnellens.contract import LOAD_METADATA, REASON_CODES, SOURCES, Column, Source

BEGIN = "<!-- BEGIN GENERATED FROM funnellens/contract.py: python -m funnellens.demo.landing_doc docs/landing-zone.md -->"
END = "<!-- END GENERATED -->"
FORMAT_EXTENSIONS = {"csv": "`.csv`", "ndjson": "`.ndjson`", "ndjson.gz": "`.ndjson.gz`", "yaml": "`.yml`, `.yaml`"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _column_row(col: Column) -> str:
    headers = ", ".join(f"`{a}`" for a in (col.name, *col.aliases))
    allowed = ", ".join(f"`{v}`" for v in col.allowed) if col.allowed else ""
    return (f"| `{col.name}` | {col.dtype} | {'yes' if col.required else ''} | {headers} | {allowed} | "
            f"{_cell(col.description)} |")


def render_source(source: Source) -> str:
    formats = ", ".join(FORMAT_EXTENSIONS.get(f, f"`.{f}`") for f in source.formats)
    lines = [
        f"### `{source.folder}/` ({source.name} -> `raw.{source.table}`)",
        "",
        source.description,
        "",
        f"- Files: {formats}",
        f"- Natural key (duplicates are quarantined as `duplicate_row`): "
        f"{', '.join(f'`{k}`' for k in source.key)}",
        f"- Required: {', '.join(f'`{c}`' for c in source.required)}",
    ]
    lines += [f"- {_cell(note)}" for note in source.notes]
    lines += [
        "",
        "| column | type | required | accepted headers | allowed values | notes |",
        "|---|---|---|---|---|---|",
        *(_column_row(c) for c in source.columns),
        "",
    ]
    return "\n".join(lines)


def render_generated() -> str:
    """The generated block, markers included."""
    parts = [BEGIN, "", "## Sources", ""]
    parts += [render_source(s) for s in SOURCES.values()]
    parts += ["## Load metadata", "", "Every raw table also has these columns:", "",
              "| column | type | meaning |", "|---|---|---|"]
    parts += [f"| `{c.name}` | {c.dtype} | {_cell(c.description)} |" for c in LOAD_METADATA]
    parts += ["", "## Quarantine reason codes", "", "| reason_code | meaning |", "|---|---|"]
    parts += [f"| `{code}` | {_cell(text)} |" for code, text in REASON_CODES.items()]
    parts += ["", END]
    return "\n".join(parts)


def replace_generated(document: str) -> str:
    """``document`` with its generated block replaced by the current one."""
    if BEGIN not in document or END not in document:
        raise ValueError("the document has no generated block (BEGIN/END markers)")
    head, rest = document.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return head + render_generated() + tail


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m funnellens.demo.landing_doc docs/landing-zone.md", file=sys.stderr)
        return 2
    path = Path(args[0])
    path.write_text(replace_generated(path.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"updated {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
