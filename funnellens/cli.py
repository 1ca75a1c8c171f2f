"""The ``funnellens`` command line.

Subcommands live in ``SUBCOMMANDS`` (name -> ``Subcommand``): each one adds its arguments to
its own parser and runs with the parsed arguments, returning the exit code. Adding a command
is adding one entry.

    funnellens demo --out DIR --seed N --scale X --days D [--start YYYY-MM-DD] [--no-bad-input] [--force]
    funnellens status
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from funnellens.config import get_settings
from funnellens.contract import SOURCES


@dataclass(frozen=True)
class Subcommand:
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


class CommandError(Exception):
    """A user-facing error: printed without a traceback, exit code 1."""


# ----------------------------------------------------------------------------------------
# funnellens demo
# ----------------------------------------------------------------------------------------
DEMO_OWNED = (*sorted({s.folder for s in SOURCES.values()}), "_demo")
"""What ``funnellens demo --force`` may delete: the source folders and ``_demo``, nothing else."""


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO date (YYYY-MM-DD): {text}") from exc


def _configure_demo(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=None,
                        help="landing-zone folder to write (default: FUNNELLENS_LANDING_DIR or data/landing)")
    parser.add_argument("--seed", type=int, default=42, help="random seed; the same seed gives the same bytes")
    parser.add_argument("--scale", type=_positive_float, default=1.0,
                        help="volume multiplier: 1 is ~20,000 tracking events, 50 ~1M, 500 ~10M")
    parser.add_argument("--days", type=int, default=120, help="length of the period in days (at least 28)")
    parser.add_argument("--start", type=_iso_date, default=None,
                        help="first day of the period (default: a fixed Monday, 2026-03-02)")
    parser.add_argument("--no-bad-input", dest="bad_input", action="store_false",
                        help="do not plant malformed rows and files")
    parser.add_argument("--force", action="store_true",
                        help="write into a non-empty folder, first removing the source folders and _demo "
                             "that an earlier run wrote (nothing else)")


def prepare_output_folder(out: Path, force: bool) -> list[Path]:
    """Refuse a non-empty ``out`` unless ``force``; with ``force`` remove only demo-owned folders.

    Returns the paths removed.
    """
    if out.exists() and not out.is_dir():
        raise CommandError(f"{out} exists and is not a folder")
    if not out.exists():
        return []
    entries = sorted(p.name for p in out.iterdir())
    if entries and not force:
        shown = ", ".join(entries[:8]) + (", ..." if len(entries) > 8 else "")
        raise CommandError(
            f"{out} is not empty ({shown}). Choose an empty folder, or pass --force to replace the demo "
            f"folders in it ({', '.join(DEMO_OWNED)}); other files are left alone.")
    removed = []
    for name in DEMO_OWNED:
        path = out / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
            removed.append(path)
        elif path.exists() or path.is_symlink():
            raise CommandError(f"{path} is not a folder; remove it yourself before --force")
    return removed


def _run_demo(args: argparse.Namespace) -> int:
    from funnellens.demo import generate_landing_zone

    if args.days < 28:
        raise CommandError(f"--days must be at least 28, got {args.days}")
    out: Path = (args.out or get_settings().landing_dir).expanduser().resolve()
    removed = prepare_output_folder(out, args.force)
    if removed:
        print(f"removed the earlier demo folders: {', '.join(p.name for p in removed)}")
    summary = generate_landing_zone(out, seed=args.seed, scale=args.scale, days=args.days, start=args.start,
                                    plant_bad_input=args.bad_input)
    print(summary.format())
    return 0


# ----------------------------------------------------------------------------------------
# funnellens status
# ----------------------------------------------------------------------------------------
def _configure_status(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--warehouse", type=Path, default=None,
                        help="DuckDB file (default: FUNNELLENS_WAREHOUSE or data/warehouse/funnellens.duckdb)")


def _run_status(args: argparse.Namespace) -> int:
    import duckdb

    from funnellens.warehouse_status import format_status

    path: Path = (args.warehouse or get_settings().warehouse_path).expanduser()
    if not path.is_file():
        raise CommandError(f"no warehouse at {path}: run the warehouse job first (see README.md)")
    with duckdb.connect(str(path), read_only=True) as con:
        print(f"warehouse: {path}")
        print(format_status(con))
    return 0


SUBCOMMANDS: dict[str, Subcommand] = {
    "demo": Subcommand("write a demo landing zone with planted, known effects", _configure_demo, _run_demo),
    "status": Subcommand("row counts per table, loads and the quarantine of the warehouse", _configure_status,
                         _run_status),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="funnellens", description="FunnelLens batch analytics warehouse")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, command in SUBCOMMANDS.items():
        command.configure(sub.add_parser(name, help=command.help, description=command.help))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``funnellens`` script; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return SUBCOMMANDS[args.command].run(args)
    except CommandError as exc:
        print(f"funnellens {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
