"""The demo period and the seeded random streams every demo component draws from.

Each component (creators, journeys, tracking, ...) gets its own random stream derived from
the seed and the component's name, so writing one source alone (``only=...``) or changing
one component never shifts the numbers of another: the same seed always gives the same
bytes for a file.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

DEFAULT_START = date(2026, 3, 2)
"""A fixed Monday. Never ``date.today()``: the same seed must give byte-identical files."""

HOUR_S = 3600


def rng_for(seed: int, component: str) -> np.random.Generator:
    """A generator for one component: ``PCG64`` seeded by ``[seed, crc32(component)]``."""
    return np.random.default_rng([int(seed), zlib.crc32(component.encode("utf-8"))])


@dataclass(frozen=True)
class DemoPeriod:
    """The half-open UTC period ``[start 00:00, start + days 00:00)`` that the demo covers."""

    start: date
    days: int

    def __post_init__(self) -> None:
        if self.days < 1:
            raise ValueError(f"days must be at least 1, got {self.days}")

    @property
    def hours(self) -> int:
        return self.days * 24

    @property
    def start_ts(self) -> np.datetime64:
        return np.datetime64(self.start.isoformat(), "s")

    @property
    def end(self) -> date:
        return self.start + timedelta(days=self.days)

    @property
    def start_dt(self) -> datetime:
        return datetime(self.start.year, self.start.month, self.start.day)

    def timestamps(self, hours: np.ndarray) -> np.ndarray:
        """Float hours since the start -> ``datetime64[s]`` (naive UTC), truncated to the second."""
        seconds = np.floor(np.asarray(hours, dtype=np.float64) * HOUR_S).astype(np.int64)
        return self.start_ts + seconds.astype("timedelta64[s]")

    def hour_index(self) -> pd.DatetimeIndex:
        """The UTC start of every hour of the period."""
        return pd.date_range(self.start_dt, periods=self.hours, freq="h", tz="UTC")

    def months(self) -> list[tuple[str, np.datetime64, np.datetime64]]:
        """``(YYYY-MM, start, end)`` of every calendar month the period touches, clipped to it."""
        out = []
        first = pd.Timestamp(self.start).to_period("M")
        last = pd.Timestamp(self.end - timedelta(days=1)).to_period("M")
        for period in pd.period_range(first, last, freq="M"):
            lo = max(np.datetime64(period.start_time.date().isoformat(), "s"), self.start_ts)
            hi = min(np.datetime64((period.end_time.date() + timedelta(days=1)).isoformat(), "s"),
                     np.datetime64(self.end.isoformat(), "s"))
            out.append((str(period), lo, hi))
        return out


def iso_utc(ts: np.ndarray | np.datetime64, *, z: bool = True) -> np.ndarray:
    """``datetime64`` -> ``2026-03-02T18:05:11Z`` strings (or without ``Z`` when ``z`` is False)."""
    text = np.datetime_as_string(np.asarray(ts, dtype="datetime64[s]"), unit="s")
    return np.char.add(text, "Z") if z else text


def iso_space(ts: np.ndarray | np.datetime64) -> np.ndarray:
    """``datetime64`` -> ``2026-03-02 18:05:11`` strings (a naive UTC time)."""
    text = np.datetime_as_string(np.asarray(ts, dtype="datetime64[s]"), unit="s")
    return np.char.replace(text, "T", " ")


def iso_local(ts: np.ndarray, timezone: str) -> np.ndarray:
    """UTC ``datetime64`` -> local ISO 8601 with the UTC offset, e.g. ``2026-03-02T19:05:11+01:00``."""
    utc = np.asarray(ts, dtype="datetime64[s]")
    if utc.size == 0:
        return np.array([], dtype=object)
    local = pd.DatetimeIndex(utc).tz_localize("UTC").tz_convert(timezone).tz_localize(None)
    local_s = local.to_numpy().astype("datetime64[s]")
    offset_min = (local_s - utc).astype(np.int64) // 60
    sign = np.where(offset_min < 0, "-", "+").astype(object)
    hh = np.char.zfill((np.abs(offset_min) // 60).astype(str), 2).astype(object)
    mm = np.char.zfill((np.abs(offset_min) % 60).astype(str), 2).astype(object)
    return np.datetime_as_string(local_s, unit="s").astype(object) + sign + hh + ":" + mm


def iso_datetime(value: datetime | np.datetime64) -> str:
    """One naive UTC time -> ``2026-03-02T00:00:00Z``."""
    return str(np.datetime_as_string(np.datetime64(value, "s"), unit="s")) + "Z"
