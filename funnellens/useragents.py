"""User-agent parsing into device type, browser, browser major version and OS.

Parsing uses the maintained ``ua-parser`` package (1.x, regexes from ``ua-parser-builtins``).
A tracking table has millions of events but only a few thousand distinct user agents, so every
function here parses each *distinct* string once and maps the result back:

- :func:`parse_user_agents` turns a pandas Series of user agents into a DataFrame aligned with it;
- :func:`user_agent_dimension` reads the distinct user agents of a DuckDB relation and writes a
  lookup table that SQL joins set-based (``docs/funnels.md``, "User-agent parsing").

A missing user agent (NULL) and the empty string are the same key, ``''``: the lookup table has
one row for it, and SQL joins on ``coalesce(user_agent, '')`` (or on ``ua_hash``, which is
``md5(coalesce(user_agent, ''))``, DuckDB's ``md5`` of the UTF-8 text).

Device type rules, applied in this order (the first that matches wins). ``device``, ``browser``
and ``os`` are ua-parser's device family, user-agent family and OS family:

1. ``other``: the user agent is missing, empty or blank.
2. ``bot``: ua-parser's device family is ``Spider`` (search engines, link-preview fetchers, AI
   crawlers, ...); or the browser family is an automated HTTP client or headless browser
   (:data:`AUTOMATED_CLIENT_FAMILIES`: curl, Wget, Python Requests, HeadlessChrome, ...); or
   the raw string contains a token of :data:`AUTOMATED_CLIENT_PATTERN` (``HeadlessChrome``,
   ``Lighthouse``, ``node-fetch``, ...). Automated clients are not people, so they are bots here.
3. ``other``: TVs, consoles and streaming sticks (:data:`TV_CONSOLE_PATTERN`: ``SMART-TV``,
   ``PlayStation``, ``Xbox``, ``CrKey``, ``Roku``, Fire TV ``AFT*`` models, ...).
4. ``tablet``: the device is an iPad, a Kindle, ua-parser's ``Generic_Android_Tablet`` brand or
   ``Generic Tablet`` family, or has ``Tablet`` in its name; or the OS is Android and the string
   has no ``Mobile`` token (Google's convention: Android tablets omit ``Mobile``); or the string
   has a ``Tablet`` token (Firefox for Android on tablets).
5. ``mobile``: the OS is a phone OS (:data:`MOBILE_OS_FAMILIES`: iOS, Android, Windows Phone,
   KaiOS, ...); or the device is an iPhone, iPod or ``Generic Smartphone``; or the string has a
   ``Mobi`` token (MDN's recommended mobile test).
6. ``desktop``: the OS is a desktop OS: Windows (not Windows Phone/Mobile/CE), macOS (``Mac OS X``),
   Chrome OS, or a Linux/BSD family (:data:`DESKTOP_OS_FAMILIES`).
7. ``other``: anything else (e.g. an unknown string, a bare HTTP library not in the bot list).

Known limit: iPadOS 13+ Safari in its default "desktop" mode sends the macOS user agent, so it
counts as ``desktop``; no user-agent parser can tell the two apart.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
import ua_parser

DEVICE_TYPES = ("desktop", "mobile", "tablet", "bot", "other")
"""The values of ``device_type``."""

UA_COLUMNS = ("device_type", "browser", "browser_version", "os")
"""Columns of :func:`parse_user_agents`' result."""

DIMENSION_COLUMNS = ("user_agent", "ua_hash", *UA_COLUMNS)
"""Columns of the lookup table written by :func:`user_agent_dimension`."""

UNKNOWN = "Other"
"""Browser / OS family when ua-parser finds no match (ua-parser's own default)."""

AUTOMATED_CLIENT_FAMILIES = frozenset(
    {
        "curl",
        "wget",
        "python requests",
        "python-urllib",
        "python-urllib3",
        "aiohttp",
        "httpx",
        "go-http-client",
        "java",
        "apache-httpclient",
        "okhttp",
        "postmanruntime",
        "axios",
        "node-fetch",
        "scrapy",
        "headlesschrome",
        "phantomjs",
        "libwww-perl",
        "guzzlehttp",
    }
)
"""Browser families (lower case) of automated HTTP clients and headless browsers."""

AUTOMATED_CLIENT_PATTERN = re.compile(
    r"headlesschrome|phantomjs|lighthouse|node-fetch|python-urllib|python-requests|"
    r"go-http-client|apache-httpclient|okhttp/|postmanruntime|axios/|^curl/|^wget/",
    re.IGNORECASE,
)
"""Raw-string tokens of automated clients that ua-parser may not name as a browser family."""

TV_CONSOLE_PATTERN = re.compile(
    r"smart-?tv|\bhbbtv\b|\btv\b|playstation|xbox|nintendo|\bcrkey\b|\broku|\baft[a-z]{1,3}\b",
    re.IGNORECASE,
)
"""Raw-string tokens of TVs, game consoles and streaming sticks."""

_MOBILE_TOKEN = re.compile(r"mobi", re.IGNORECASE)
_TABLET_TOKEN = re.compile(r"\btablet\b", re.IGNORECASE)

MOBILE_OS_FAMILIES = frozenset(
    {
        "ios",
        "android",
        "windows phone",
        "windows mobile",
        "blackberry os",
        "kaios",
        "firefox os",
        "symbian os",
        "symbian^3",
        "sailfish",
        "harmonyos",
        "webos",
        "bada",
        "maemo",
        "meego",
        "ubuntu touch",
    }
)
"""OS families (lower case) of phones."""

DESKTOP_OS_FAMILIES = frozenset(
    {
        "windows",
        "mac os x",
        "macos",
        "chrome os",
        "linux",
        "ubuntu",
        "debian",
        "fedora",
        "red hat",
        "centos",
        "suse",
        "opensuse",
        "linux mint",
        "mint",
        "arch linux",
        "gentoo",
        "mageia",
        "slackware",
        "mandriva",
        "kubuntu",
        "xubuntu",
        "freebsd",
        "openbsd",
        "netbsd",
        "solaris",
    }
)
"""OS families (lower case) of desktop and laptop computers. Windows versions match by prefix."""

_TABLET_DEVICE_FAMILIES = frozenset({"ipad", "generic tablet"})
_PHONE_DEVICE_FAMILIES = frozenset({"iphone", "ipod", "generic smartphone"})
_NON_DESKTOP_WINDOWS = ("windows phone", "windows mobile", "windows ce", "windows rt")


def classify_device_type(user_agent: str, result: ua_parser.Result) -> str:
    """Device type of one parsed user agent by the rules of the module docstring.

    ``result`` is ``ua_parser.parse(user_agent)``. Returns one of :data:`DEVICE_TYPES`.
    """
    if not user_agent or not user_agent.strip():
        return "other"
    device = (result.device.family if result.device else "").lower()
    brand = (result.device.brand or "" if result.device else "").lower()
    browser = (result.user_agent.family if result.user_agent else "").lower()
    os_family = (result.os.family if result.os else "").lower()

    if device == "spider" or browser in AUTOMATED_CLIENT_FAMILIES or AUTOMATED_CLIENT_PATTERN.search(user_agent):
        return "bot"
    if TV_CONSOLE_PATTERN.search(user_agent) or "chromecast" in os_family:
        return "other"
    if (
        device in _TABLET_DEVICE_FAMILIES
        or device.startswith("kindle")
        or "tablet" in device
        or brand == "generic_android_tablet"
        or (os_family == "android" and not _MOBILE_TOKEN.search(user_agent))
        or _TABLET_TOKEN.search(user_agent)
    ):
        return "tablet"
    if os_family in MOBILE_OS_FAMILIES or device in _PHONE_DEVICE_FAMILIES or _MOBILE_TOKEN.search(user_agent):
        return "mobile"
    if os_family in DESKTOP_OS_FAMILIES or (
        os_family.startswith("windows") and not os_family.startswith(_NON_DESKTOP_WINDOWS)
    ):
        return "desktop"
    return "other"


def parse_user_agent(user_agent: str | None) -> tuple[str, str, str | None, str]:
    """Parse one user agent into ``(device_type, browser, browser_version, os)``.

    ``browser`` and ``os`` are ua-parser's families (``"Other"`` when unknown); ``browser_version``
    is the browser's major version as text (ua-parser's ``major``), or None when unknown.
    """
    text = "" if user_agent is None else str(user_agent)
    result = ua_parser.parse(text)
    browser = result.user_agent.family if result.user_agent else UNKNOWN
    version = result.user_agent.major if result.user_agent else None
    os_family = result.os.family if result.os else UNKNOWN
    return classify_device_type(text, result), browser, version or None, os_family


def _normalise_keys(user_agents: pd.Series) -> pd.Series:
    """NULL, NaN and None become ``''``; everything else its text."""
    return user_agents.astype(object).where(user_agents.notna(), "").astype(str)


def _parse_distinct(distinct: np.ndarray) -> dict[str, list]:
    parsed = [parse_user_agent(ua) for ua in distinct]  # one parse per distinct string
    columns = list(zip(*parsed, strict=True)) if parsed else [(), (), (), ()]
    return {name: list(values) for name, values in zip(UA_COLUMNS, columns, strict=True)}


def parse_user_agents(user_agents: pd.Series) -> pd.DataFrame:
    """Parse a Series of user agents; each distinct string is parsed once.

    Returns a DataFrame with the Series' index and the columns ``device_type`` (one of
    :data:`DEVICE_TYPES`), ``browser`` (ua-parser family, ``"Other"`` when unknown),
    ``browser_version`` (major version as text, missing when unknown) and ``os`` (ua-parser OS
    family, ``"Other"`` when unknown). Missing values parse like the empty string.
    """
    if not isinstance(user_agents, pd.Series):
        user_agents = pd.Series(user_agents)
    keys = _normalise_keys(user_agents)
    codes, uniques = pd.factorize(keys, sort=False)
    parsed = _parse_distinct(np.asarray(uniques, dtype=object))
    out = {}
    for name in UA_COLUMNS:
        values = np.asarray(parsed[name], dtype=object)
        out[name] = values[codes] if len(codes) else np.array([], dtype=object)
    return pd.DataFrame(out, index=user_agents.index, columns=list(UA_COLUMNS))


# ---------------------------------------------------------------------------------------
# DuckDB lookup table
# ---------------------------------------------------------------------------------------

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _quote_relation(name: str, what: str) -> str:
    """Quote a ``[catalog.][schema.]name`` relation name; refuse anything else (no SQL injection)."""
    parts = name.split(".") if isinstance(name, str) else []
    if not 1 <= len(parts) <= 3 or not all(_IDENTIFIER.match(p) for p in parts):
        raise ValueError(
            f"{what} must be a table or view name like 'staging.stg_tracking_events' "
            f"(letters, digits and underscores, up to catalog.schema.name); got {name!r}"
        )
    return ".".join(f'"{p}"' for p in parts)


def _relation_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    parts = name.split(".")
    table, schema = parts[-1], (parts[-2] if len(parts) >= 2 else None)
    catalog = parts[-3] if len(parts) == 3 else None
    sql = "SELECT count(*) FROM information_schema.tables WHERE table_name = $t"
    params: dict[str, str] = {"t": table}
    if schema is not None:
        sql += " AND table_schema = $s"
        params["s"] = schema
    else:
        sql += " AND table_schema = current_schema()"
    if catalog is not None:
        sql += " AND table_catalog = $c"
        params["c"] = catalog
    else:
        sql += " AND table_catalog = current_database()"
    return con.execute(sql, params).fetchall()[0][0] > 0


@dataclass(frozen=True)
class UserAgentDimensionResult:
    """What :func:`user_agent_dimension` did: strings parsed now, and rows in the table after."""

    parsed: int
    total_rows: int


def user_agent_dimension(
    con: duckdb.DuckDBPyConnection,
    source_relation: str,
    target_table: str,
    *,
    column: str = "user_agent",
    replace: bool = False,
) -> UserAgentDimensionResult:
    """Write a user-agent lookup table from the distinct user agents of a DuckDB relation.

    Reads ``SELECT DISTINCT coalesce(<column>, '')`` from ``source_relation`` (a table or view),
    parses each string once (:func:`parse_user_agent`) and writes ``target_table`` with the columns
    :data:`DIMENSION_COLUMNS`: ``user_agent`` (the key; ``''`` stands for NULL), ``ua_hash``
    (``md5(user_agent)``, computed by DuckDB), ``device_type``, ``browser``, ``browser_version``
    and ``os``. The target's schema is created if needed.

    Incremental by default: when ``target_table`` exists, only user agents not yet in it are
    parsed and inserted. ``replace=True`` re-parses everything (e.g. after a ua-parser update).
    Both happen in one transaction, so readers never see a half-written table.
    """
    source_sql = _quote_relation(source_relation, "source_relation")
    target_sql = _quote_relation(target_table, "target_table")
    if not isinstance(column, str) or not _IDENTIFIER.match(column):
        raise ValueError(f"column must be a plain column name, got {column!r}")
    try:
        con.execute(f'SELECT "{column}" FROM {source_sql} LIMIT 0')
    except duckdb.Error as exc:
        raise ValueError(f"cannot read column {column!r} of {source_relation!r}: {exc}") from exc

    target_parts = target_table.split(".")
    exists = _relation_exists(con, target_table) and not replace
    distinct_sql = f"SELECT DISTINCT coalesce(CAST(\"{column}\" AS VARCHAR), '') AS user_agent FROM {source_sql}"
    if exists:
        distinct_sql += f" EXCEPT SELECT user_agent FROM {target_sql}"
    distinct = con.execute(distinct_sql).fetchnumpy()["user_agent"]
    distinct = np.asarray(distinct, dtype=object)
    parsed = _parse_distinct(distinct)
    frame = pd.DataFrame({"user_agent": distinct, **parsed}, columns=["user_agent", *UA_COLUMNS])

    view = f"_ua_dim_{uuid.uuid4().hex}"
    select = (
        f"SELECT CAST(user_agent AS VARCHAR) AS user_agent, md5(CAST(user_agent AS VARCHAR)) AS ua_hash, "
        f"CAST(device_type AS VARCHAR) AS device_type, CAST(browser AS VARCHAR) AS browser, "
        f"CAST(browser_version AS VARCHAR) AS browser_version, CAST(os AS VARCHAR) AS os FROM {view}"
    )
    con.register(view, frame)
    try:
        con.execute("BEGIN TRANSACTION")
        try:
            if len(target_parts) >= 2:
                schema_sql = ".".join(f'"{p}"' for p in target_parts[:-1])
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema_sql}")
            if exists:
                con.execute(f"INSERT INTO {target_sql} ({', '.join(DIMENSION_COLUMNS)}) {select}")
            else:
                con.execute(f"CREATE OR REPLACE TABLE {target_sql} AS {select} ORDER BY user_agent")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    finally:
        con.unregister(view)
    total = con.execute(f"SELECT count(*) FROM {target_sql}").fetchall()[0][0]
    return UserAgentDimensionResult(parsed=len(frame), total_rows=int(total))
