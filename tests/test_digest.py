"""The Monday digest: text and HTML content, files on disk, a real SMTP round trip, a browser render.

All input here is SAMPLE data built by hand for the tests (and for the documentation
screenshot, docs/img/digest-example.png); it is labelled as such and is not a result.
"""

from __future__ import annotations

import base64
import dataclasses
import email
import email.policy
import html
import io
import os
import re
import shutil
import socket
import struct
import subprocess
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from funnellens.charts import (
    CHART_HEIGHT_PX,
    CHART_WIDTH_PX,
    TIER_COLOURS,
    exact_lift_interval,
    lift_chart_png,
    lift_chart_rows,
)
from funnellens.digest import (
    CHART_CID,
    BaselineComparison,
    CreatorDigest,
    digest_for_creator,
    render_digest_html,
    render_digest_text,
    safe_file_stem,
    send_digest,
    write_digest,
)
from funnellens.recommendations import recommend, weekly_plan

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SCREEN_W, SCREEN_H = 900, 1700

WEEK = pd.Timestamp("2026-03-01 23:00")  # Monday 2 March 2026 00:00 in Europe/Berlin
WEEK_END = WEEK + pd.Timedelta(days=7)


def _perf_row(creator: str, ct: str, tier: str, n: int, expected: float, level: str, score: float,
              posts: int, total: int, confounders: str = "") -> dict:
    # one-sided exact Poisson p-value in the direction of the observed lift
    pvalue = stats.poisson.sf(n - 1, expected) if n >= expected else stats.poisson.cdf(n, expected)
    return {
        "creator_id": creator, "agency_id": "sample_agency", "window_start": WEEK, "window_end": WEEK_END,
        "content_type": ct, "view_delta": 10_000.0 * posts, "view_share": 0.2,
        "credited_subscribers": n * 0.9, "dominant_fans": n, "subscribers_total": total,
        "expected_subscribers": expected, "lift_pct": (n / expected - 1) * 100, "pvalue": pvalue,
        "confidence_score": score, "confidence_level": level, "tier": tier,
        "confounders": confounders, "posts_in_window": posts,
    }


def sample_performance() -> pd.DataFrame:
    """SAMPLE input: one clean creator-week and one confounded creator-week."""
    clean = [
        _perf_row("sample_c1", "storytime", "confident", 46, 30.0, "high", 0.86, 3, 494),
        _perf_row("sample_c1", "grwm", "confident", 27, 38.0, "medium", 0.74, 3, 494),
        _perf_row("sample_c1", "thirst_trap", "confident", 400, 345.0, "high", 0.81, 2, 494),
        _perf_row("sample_c1", "behind_scenes", "hypothesis", 15, 10.0, "low", 0.45, 2, 494),
        _perf_row("sample_c1", "money_talk", "insufficient_data", 6, 4.0, "low", 0.12, 1, 494),
    ]
    promo = "promo: 20% off launch (Tue 3 Mar to Thu 5 Mar)"
    confounded = [
        _perf_row("sample_c2", "storytime", "hypothesis", 40, 22.0, "medium", 0.6, 4, 58, promo),
        _perf_row("sample_c2", "grwm", "hypothesis", 18, 15.0, "low", 0.4, 3, 58, promo),
    ]
    return pd.DataFrame(clean + confounded)


SAMPLE_BASELINES = {
    "sample_c1": BaselineComparison(observed=494, expected=452.6, baseline_days=14,
                                    pvalue=float(stats.poisson.sf(493, 452.6)), confidence_level="medium"),
    "sample_c2": BaselineComparison(observed=58, expected=35.0, baseline_days=5, insufficient_baseline=True,
                                    pvalue=float(stats.poisson.sf(57, 35.0)), confidence_level="low"),
}


def sample_digest(creator: str = "sample_c1", name: str = "Sample Creator A") -> CreatorDigest:
    perf = sample_performance()
    rec = recommend(perf)
    plan = weekly_plan(rec)
    digest = digest_for_creator(
        creator, recommendations=rec, plan=plan, performance=perf, baseline=SAMPLE_BASELINES[creator],
        creator_name=name, agency_name="Sample Agency", agency_timezone="Europe/Berlin",
    )
    return dataclasses.replace(digest, sample=True)


# ---------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------
def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE, "not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _pixels(data: bytes) -> np.ndarray:
    """RGB uint8 pixels of a PNG."""
    img = mpimg.imread(io.BytesIO(data), format="png")
    return (img[..., :3] * 255).round().astype(np.uint8)


def _near(pixels: np.ndarray, hex_colour: str, tol: int = 12) -> int:
    rgb = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(pixels.astype(int) - rgb).max(axis=-1) <= tol).sum())


def _rows_with_run(pixels: np.ndarray, hex_colour: str, min_run: int, tol: int = 12) -> np.ndarray:
    """Indices of pixel rows holding at least ``min_run`` consecutive pixels of the colour."""
    rgb = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)])
    mask = np.abs(pixels.astype(int) - rgb).max(axis=-1) <= tol
    csum = np.concatenate([np.zeros((mask.shape[0], 1), dtype=int), np.cumsum(mask, axis=1)], axis=1)
    runs = csum[:, min_run:] - csum[:, :-min_run]  # pixels of the colour in every window of min_run
    return np.flatnonzero((runs == min_run).any(axis=1))


def _distinct_colours(pixels: np.ndarray) -> int:
    packed = (pixels[..., 0].astype(np.uint32) << 16) | (pixels[..., 1].astype(np.uint32) << 8) | pixels[..., 2]
    return len(np.unique(packed))


class _TagCounter(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _tags(doc: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _TagCounter()
    parser.feed(doc)
    return parser.tags


# ---------------------------------------------------------------------------------------
# Chart
# ---------------------------------------------------------------------------------------
def test_exact_lift_interval_matches_the_poisson_tails():
    k = np.array([0, 1, 3, 10, 24, 25, 60, 200, 1000, 25_000])
    e = np.array([1.0, 2.5, 3.0, 8.0, 20.0, 30.0, 45.0, 150.0, 1100.0, 24_000.0])
    low, high = exact_lift_interval(k, e, 0.95)
    lam_low, lam_high = (low / 100 + 1) * e, (high / 100 + 1) * e
    # Garwood: P(X >= k | L) = 0.025 and P(X <= k | U) = 0.025 (scipy's Poisson as the reference)
    pos = k > 0
    np.testing.assert_allclose(stats.poisson.sf(k[pos] - 1, lam_low[pos]), 0.025, rtol=1e-9)
    np.testing.assert_allclose(stats.poisson.cdf(k, lam_high), 0.025, rtol=1e-9)
    assert low[0] == -100.0
    assert np.isnan(exact_lift_interval(5, 0.0)[0]).all()
    with pytest.raises(ValueError, match="level"):
        exact_lift_interval(5, 3.0, 1.5)


def test_lift_chart_png_is_a_png_of_fixed_size_with_tier_colours():
    rows = lift_chart_rows(sample_performance().query("creator_id == 'sample_c1'"))
    png = lift_chart_png(rows, "Lift by content type (SAMPLE) with a $dollar and <tag>")
    assert _png_size(png) == (CHART_WIDTH_PX, CHART_HEIGHT_PX) == (800, 450)
    assert png == lift_chart_png(rows, "Lift by content type (SAMPLE) with a $dollar and <tag>")
    px = _pixels(png)
    assert px.shape == (450, 800, 3)
    for tier, colour in TIER_COLOURS.items():
        assert _near(px, colour) > 300, f"no {tier} bar drawn"
    assert _distinct_colours(px) > 50
    # fewer, more or no rows: the size does not change
    assert _png_size(lift_chart_png(rows.head(1), "one")) == (800, 450)
    assert _png_size(lift_chart_png(rows.iloc[0:0], "none")) == (800, 450)
    many = pd.concat([rows.assign(content_type=rows["content_type"] + f"_{i}") for i in range(4)])
    assert _png_size(lift_chart_png(many, "twenty")) == (800, 450)
    with pytest.raises(ValueError, match="lift_ci_low"):
        lift_chart_png(rows.drop(columns=["lift_ci_low"]), "x")


# ---------------------------------------------------------------------------------------
# Content
# ---------------------------------------------------------------------------------------
def _stats_expectations(d: CreatorDigest) -> list[tuple[str, str, str]]:
    return [(f"lift {_pct(r.lift_pct)}", f"n={r.n}", f"confidence {r.confidence_level}")
            for r in d.recommendations.itertuples()]


def _pct(x: float) -> str:
    v = round(x)
    return "0%" if v == 0 else f"{v:+d}%"


def test_text_digest_has_every_section_and_every_number_with_n_and_confidence():
    d = sample_digest()
    text = render_digest_text(d)
    for heading in ("SUBSCRIBERS VS BASELINE", "CONFOUNDERS", "CONFIDENT RECOMMENDATIONS",
                    "HYPOTHESES TO TEST", "NOT ENOUGH DATA YET", "WEEKLY PLAN", "CHART"):
        assert f"\n{heading}\n" in text
    assert "SAMPLE DATA" in text.splitlines()[0]
    assert "Window: Mon 02 Mar 2026 00:00 to Mon 09 Mar 2026 00:00 (Europe/Berlin, 168 h)" in text
    assert "494 new subscribers (n=494) against 452.6 expected from a 14-day baseline" in text
    assert "[95% interval 0% to +19%], p=0.029, confidence medium." in text
    assert "No confounder overlaps this window." in text
    lines = text.splitlines()
    for lift, n, conf in _stats_expectations(d):
        assert any(lift in ln and n in ln and conf in ln for ln in lines), (lift, n, conf)
    # sections hold the right rows
    confident = text.split("CONFIDENT RECOMMENDATIONS")[1].split("HYPOTHESES TO TEST")[0]
    assert "Increase storytime" in confident and "Decrease grwm" in confident
    assert "Maintain thirst_trap" in confident and "behind_scenes" not in confident
    assert "Test behind_scenes" in text.split("HYPOTHESES TO TEST")[1].split("NOT ENOUGH DATA")[0]
    # the plan table: every row carries its n and confidence
    plan = text.split("WEEKLY PLAN\n")[1].split("\n\n")[0].splitlines()
    assert plan[0].split() == ["content", "type", "now/wk", "suggested/wk", "action", "lift", "n", "confidence"]
    table = {ln.split()[0]: ln.split() for ln in plan[1:]}
    assert table["storytime"][:6] == ["storytime", "3", "4", "increase", "+53%", "46"]
    assert table["storytime"][6:] == ["high,", "confident"]
    assert table["grwm"][:3] == ["grwm", "3", "2"] and table["money_talk"][-3:] == ["low,", "insufficient", "data"]


def test_confounded_digest_alerts_names_the_confounder_and_withholds_the_plan():
    d = sample_digest("sample_c2", "Sample Creator B")
    text = render_digest_text(d)
    promo = "promo: 20% off launch (Tue 3 Mar to Thu 5 Mar)"
    assert d.confounders == (promo,)
    assert f"CONFOUNDER ALERT\n  ! {promo}\n" in text
    assert "No confident recommendation this week." in text
    hypotheses = text.split("HYPOTHESES TO TEST")[1].split("WEEKLY PLAN")[0]
    assert "Test storytime" in hypotheses and "Test grwm" in hypotheses
    assert hypotheses.count("overlaps the window") == 2
    plan = " ".join(text.split("WEEKLY PLAN")[1].split("CHART")[0].split())
    assert plan.startswith("Plan withheld. A confounder overlaps this window (promo: 20% off launch")
    # insufficient baseline is flagged
    assert "Insufficient baseline: only 5 day(s) of history" in text
    doc = render_digest_html(d)
    assert "Confounder alert" in doc and html.escape(promo) in doc
    assert "Plan withheld." in doc and "<table" not in doc


def test_html_digest_is_self_contained_with_the_chart_inline():
    d = sample_digest()
    doc = render_digest_html(d)
    tags = _tags(doc)
    imgs = [a for t, a in tags if t == "img"]
    assert len(imgs) == 1
    src = imgs[0]["src"] or ""
    assert src.startswith("data:image/png;base64,")
    assert base64.b64decode(src.split(",", 1)[1]) == d.chart_png
    assert (imgs[0]["width"], imgs[0]["height"]) == ("800", "450")
    assert not [t for t, _ in tags if t in ("link", "script", "style", "iframe")]
    assert "http://" not in doc and "https://" not in doc
    for heading in ("Subscribers vs baseline", "Confident recommendations", "Hypotheses to test",
                    "Weekly plan", "Lift by content type"):
        assert f">{heading}</h2>" in doc
    # every lift shown with its n and confidence in one block
    blocks = re.findall(r"<li .*?</li>", doc)
    for lift, n, conf in _stats_expectations(d):
        assert any(lift in b and n in b and conf in b for b in blocks), (lift, n, conf)
    rows = [r for r in re.findall(r"<tr>(.*?)</tr>", doc) if "<th" not in r]
    assert len(rows) == len(d.plan) == 5
    for r in rows:
        cells = re.findall(r">([^<]*)</td>", r)
        assert cells[5].isdigit(), cells  # n
        assert cells[6].split(", ")[0] in ("low", "medium", "high"), cells  # confidence
    cid = render_digest_html(d, chart_cid=CHART_CID)
    assert f'src="cid:{CHART_CID}"' in cid and "base64" not in cid


def test_user_text_is_escaped_in_html():
    evil = "<script>alert('x')</script>"
    perf = sample_performance()
    perf.loc[perf["content_type"] == "grwm", "content_type"] = '<img src=x onerror="alert(1)">'
    perf.loc[perf["creator_id"] == "sample_c2", "confounders"] = "promo: <b>50%</b> & more"
    rec = recommend(perf)
    plan = weekly_plan(rec)
    for creator in ("sample_c1", "sample_c2"):
        d = digest_for_creator(creator, recommendations=rec, plan=plan, performance=perf,
                               baseline=SAMPLE_BASELINES[creator], creator_name=evil, agency_name=evil,
                               agency_timezone="Europe/Berlin")
        doc = render_digest_html(d)
        tags = _tags(doc)
        assert not [t for t, _ in tags if t in ("script", "b")]
        assert [t for t, _ in tags].count("img") == 1
        assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in doc
        assert evil in render_digest_text(d)  # plain text stays as written
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in render_digest_html(
        digest_for_creator("sample_c1", recommendations=rec, plan=plan, performance=perf,
                           baseline=SAMPLE_BASELINES["sample_c1"]))
    assert "promo: &lt;b&gt;50%&lt;/b&gt; &amp; more" in doc


def test_digest_input_is_checked():
    d = sample_digest()
    with pytest.raises(ValueError, match="window_end .* must be after window_start"):
        dataclasses.replace(d, window_end=d.window_start)
    with pytest.raises(ValueError, match="not an IANA time zone"):
        dataclasses.replace(d, agency_timezone="Mars/Olympus")
    with pytest.raises(ValueError, match="plan rows or plan_withheld_reason"):
        dataclasses.replace(d, plan=d.plan.iloc[0:0])
    with pytest.raises(ValueError, match="recommendations is missing column\\(s\\) advice"):
        dataclasses.replace(d, recommendations=d.recommendations.drop(columns=["advice"]))
    with pytest.raises(ValueError, match="observed must be a whole number"):
        BaselineComparison(observed=-1, expected=3.0, baseline_days=14)
    with pytest.raises(ValueError, match="confidence_level"):
        BaselineComparison(observed=1, expected=3.0, baseline_days=14, confidence_level="sure")


# ---------------------------------------------------------------------------------------
# Disk and e-mail
# ---------------------------------------------------------------------------------------
def test_write_digest_to_the_configured_folder(funnellens_env):
    d = sample_digest()
    paths = write_digest(d)
    folder = funnellens_env / "digests" / "2026-03-02"
    assert paths == [folder / "sample_c1.txt", folder / "sample_c1.html", folder / "sample_c1.png"]
    assert paths[0].read_text(encoding="utf-8") == render_digest_text(d)
    assert paths[1].read_text(encoding="utf-8") == render_digest_html(d)
    assert paths[2].read_bytes() == d.chart_png
    # a re-run replaces the files; no temporary files are left behind
    assert write_digest(d) == paths
    assert sorted(p.name for p in folder.iterdir()) == ["sample_c1.html", "sample_c1.png", "sample_c1.txt"]


def test_write_digest_explicit_folder_and_hostile_creator_id(tmp_path):
    d = dataclasses.replace(sample_digest(), creator_id="../../etc/passwd")
    paths = write_digest(d, tmp_path / "out", date(2026, 3, 9))
    for p in paths:
        assert p.parent == tmp_path / "out" / "2026-03-09"
        assert p.name.startswith("_.._etc_passwd-")
    assert safe_file_stem("creator_01") == "creator_01"
    assert safe_file_stem("a/b") != safe_file_stem("a_b")


def test_send_digest_without_smtp_returns_false(funnellens_env):
    assert send_digest(sample_digest(), ["manager@example.com"]) is False


class _Inbox:
    def __init__(self) -> None:
        self.envelopes: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook name
        self.envelopes.append(envelope)
        return "250 OK"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_send_digest_through_a_real_smtp_server(monkeypatch: pytest.MonkeyPatch):
    from aiosmtpd.controller import Controller

    inbox = _Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("SMTP_PORT", str(port))
        monkeypatch.setenv("SMTP_FROM", "digest@funnellens.test")
        monkeypatch.delenv("SMTP_STARTTLS", raising=False)
        monkeypatch.delenv("SMTP_USER", raising=False)
        d = sample_digest("sample_c2", "Sample Creator B")
        assert send_digest(d, ["manager@agency.test", " "]) is True
    finally:
        controller.stop()
    assert len(inbox.envelopes) == 1
    env = inbox.envelopes[0]
    assert env.mail_from == "digest@funnellens.test"
    assert env.rcpt_tos == ["manager@agency.test"]
    msg = email.message_from_bytes(env.content, policy=email.policy.default)
    # .strip(): the stdlib folds a 70-78 character subject onto a continuation line
    assert msg["Subject"].strip() == "[SAMPLE] FunnelLens digest: Sample Creator B (sample_c2), week of 02 Mar 2026"
    assert msg["To"] == "manager@agency.test"
    text = msg.get_body(("plain",)).get_content()
    assert text.replace("\r\n", "\n") == render_digest_text(d)  # SMTP line endings are CRLF
    html_part = msg.get_body(("html",)).get_content()
    assert "Confounder alert" in html_part and "Plan withheld." in html_part
    assert "data:image/png;base64," in html_part
    attachments = list(msg.iter_attachments())
    assert [a.get_filename() for a in attachments] == ["lift-chart-sample_c2.png"]
    assert attachments[0].get_content_type() == "image/png"
    png = attachments[0].get_content()
    assert png == d.chart_png and _png_size(png) == (800, 450)


# ---------------------------------------------------------------------------------------
# Headless browser
# ---------------------------------------------------------------------------------------
CHROMIUM = Path("/usr/bin/chromium")
DOCS_SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "img" / "digest-example.png"


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium at /usr/bin/chromium (apt-get install chromium)")
def test_digest_renders_in_headless_chromium(tmp_path: Path):
    """Render the SAMPLE digest in headless Chromium and check the chart is on the screenshot.

    Set FUNNELLENS_UPDATE_DOCS_SCREENSHOT=1 to copy the screenshot to docs/img/digest-example.png.
    """
    d = sample_digest()
    page = tmp_path / "digest.html"
    page.write_text(render_digest_html(d), encoding="utf-8")
    shot = tmp_path / "digest.png"
    cmd = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--hide-scrollbars", f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
           f"--window-size={SCREEN_W},{SCREEN_H}", page.as_uri()]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)
    assert shot.exists(), f"Chromium wrote no screenshot (exit {result.returncode}): {result.stderr[-2000:]}"
    data = shot.read_bytes()
    assert _png_size(data) == (SCREEN_W, SCREEN_H)
    px = _pixels(data)
    assert _distinct_colours(px) > 100, "the screenshot is blank"
    # the chart's bars: solid runs of each tier colour far wider than the page's 4 px borders or text
    for tier, colour in TIER_COLOURS.items():
        rows = _rows_with_run(px, colour, min_run=25)
        assert len(rows) >= 15, f"no {tier} bar of the chart on the screenshot"
        assert rows.min() > SCREEN_H // 2, f"the {tier} bar is not in the chart at the bottom of the page"
    if os.environ.get("FUNNELLENS_UPDATE_DOCS_SCREENSHOT") == "1":
        DOCS_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, DOCS_SCREENSHOT)
