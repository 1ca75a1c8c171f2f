"""App product events (Segment-style track calls) with planted PII, for issue 6.

The app is "Pocket Muse", an AI writing assistant. Users install it (anonymous id), go through
onboarding, maybe sign up (user id from then on), write prompts, react to AI responses, see
the paywall, start trials and subscriptions, and manage contacts: 42 event names, each with
the properties of the product-event taxonomy (``validation/taxonomy/events.yml``; a test
checks that every generated event conforms to it, except the planted violations).

PII is planted on purpose, where real apps leak it: e-mail addresses, phone numbers, US SSNs
and Luhn-valid card numbers in free text (prompts, feedback, search queries, messages),
e-mail and phone properties (sign-up, log-in, contacts), a ``password`` property (a buggy app
version's sign-up and failed log-ins), an ``api_key`` secret, and prompts longer than 5,000
characters. The truth file records every kind with its count, where it is, and the values.

Events are built per event name with numpy/pandas, serialised to JSON by DuckDB
(``to_json``, absent properties omitted), and written one gzipped file per UTC day.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta

import duckdb
import numpy as np
import pandas as pd

from funnellens.demo.codes import ascii_rows, letter_ids
from funnellens.demo.landing_files import LandingWriter, Planted, PlantedRow
from funnellens.demo.timeline import DemoPeriod
from funnellens.demo.vocab import FIRST_NAMES, LAST_NAMES

EVENTS_PER_SCALE = 8_000
CLEAN_PROMPTS = (
    "Write a birthday message for my sister who loves hiking",
    "Summarize the main points of stoicism in five bullets",
    "Give me a 3-day meal plan for a vegetarian athlete",
    "Rewrite this sentence to sound more confident: I think maybe we could try",
    "What are good names for a bakery that sells sourdough",
    "Explain compound interest like I am ten",
    "Draft a LinkedIn post about finishing my first marathon",
    "Translate 'where is the train station' into Portuguese",
    "Suggest a weekend itinerary for Lisbon",
    "Write a haiku about Monday mornings",
    "How do I politely decline a meeting invite",
    "Make this product description shorter and punchier",
)
SCREENS = ("home", "chat", "history", "settings", "paywall", "contacts", "profile", "templates")
FEATURES = ("voice_input", "templates", "export_pdf", "tone_selector", "translate", "history_search")
MODELS = ("gpt-4o-mini", "gpt-4o")
PLANS = ("monthly", "annual")
PLAN_PRICE = {"monthly": 9.99, "annual": 79.99}
ONBOARDING_STEPS = ("welcome", "pick_goals", "notifications", "first_prompt")
LONG_TEXT_CHARS = 5000


def _uuid4(rng: np.random.Generator, n: int) -> np.ndarray:
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    hexes = pd.Series(np.frombuffer(raw.tobytes().hex().encode("ascii"), dtype="S32").astype(str))
    return (hexes.str[:8] + "-" + hexes.str[8:12] + "-" + hexes.str[12:16] + "-" + hexes.str[16:20] + "-"
            + hexes.str[20:]).to_numpy(dtype=object)


# ----------------------------------------------------------------------------------------
# PII values
# ----------------------------------------------------------------------------------------
def luhn_check_digit(body: np.ndarray) -> np.ndarray:
    """Luhn check digit of each row of digits ``body`` (n x 15): doubled every second digit
    from the right of the body, so the full number passes ``sum % 10 == 0``."""
    digits = body[:, ::-1].copy()
    doubled = digits[:, 0::2] * 2
    digits[:, 0::2] = np.where(doubled > 9, doubled - 9, doubled)
    return (10 - digits.sum(axis=1) % 10) % 10


def make_pii(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """``n`` values of each PII kind: email, phone, ssn, card (Luhn-valid), password, secret."""
    if n == 0:
        return {k: np.array([], dtype=object) for k in ("email", "phone", "ssn", "card", "password", "secret")}
    first = np.asarray(FIRST_NAMES, dtype=object)[rng.integers(0, len(FIRST_NAMES), n)]
    last = np.asarray(LAST_NAMES, dtype=object)[rng.integers(0, len(LAST_NAMES), n)]
    domains = np.asarray(("gmail.com", "outlook.com", "yahoo.com", "hey.com", "proton.me", "icloud.com"),
                         dtype=object)[rng.integers(0, 6, n)]
    email = (pd.Series(first).str.lower() + "." + pd.Series(last).str.lower()
             + rng.integers(1, 99, n).astype(str) + "@" + domains).to_numpy(dtype=object)
    area = rng.choice(["415", "212", "312", "646", "503", "737"], n).astype(object)
    line = np.char.zfill(rng.integers(100, 200, n).astype(str), 4).astype(object)
    form = rng.integers(0, 4, n)
    phone = np.select(
        [form == 0, form == 1, form == 2],
        ["(" + area + ") 555-" + line, "+1 " + area + "-555-" + line, area + ".555." + line],
        "+44 20 7946 " + np.char.zfill(rng.integers(0, 1000, n).astype(str), 4).astype(object),
    )
    ssn_area = rng.integers(100, 666, n)
    ssn = (np.char.zfill(ssn_area.astype(str), 3).astype(object) + "-"
           + np.char.zfill(rng.integers(1, 100, n).astype(str), 2).astype(object) + "-"
           + np.char.zfill(rng.integers(1, 10000, n).astype(str), 4).astype(object))
    body = rng.integers(0, 10, size=(n, 15))
    body[:, 0] = np.where(rng.random(n) < 0.6, 4, 5)
    body[:, 1] = np.where(body[:, 0] == 5, rng.integers(1, 6, n), body[:, 1])
    digits = np.concatenate([body, luhn_check_digit(body)[:, None]], axis=1)
    groups = [pd.Series(ascii_rows(digits[:, i:i + 4] + 48), dtype=object) for i in (0, 4, 8, 12)]
    sep = np.asarray((" ", "-", ""), dtype=object)[rng.integers(0, 3, n)]
    card = (groups[0] + sep + groups[1] + sep + groups[2] + sep + groups[3]).to_numpy(dtype=object)
    words = np.asarray(("sunset", "maple", "orbit", "velvet", "pepper", "harbor", "falcon"), dtype=object)
    password = words[rng.integers(0, 7, n)] + rng.integers(10, 9999, n).astype(str).astype(object) \
        + np.asarray(("!", "#", "?", "$"), dtype=object)[rng.integers(0, 4, n)]
    alphabet = np.frombuffer(b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789", dtype=np.uint8)
    secret = "sk_live_" + ascii_rows(alphabet[rng.integers(0, len(alphabet), (n, 24))])
    return {"email": email, "phone": phone, "ssn": ssn, "card": card, "password": password, "secret": secret}


# ----------------------------------------------------------------------------------------
# Simulation
# ----------------------------------------------------------------------------------------
@dataclass
class Block:
    """Events of one name: user index, time (hours), whether the user is identified, properties."""

    name: str
    user: np.ndarray
    t: np.ndarray
    props: pd.DataFrame


@dataclass
class PiiLedger:
    """Every planted PII value with where it went."""

    rows: list[pd.DataFrame] = field(default_factory=list)

    def add(self, kind: str, location: str, values: np.ndarray) -> None:
        if len(values):
            self.rows.append(pd.DataFrame({"kind": kind, "location": location, "value": values}))

    def summary(self) -> dict:
        if not self.rows:
            return {}
        frame = pd.concat(self.rows, ignore_index=True)
        out = {}
        for kind, group in frame.groupby("kind", sort=True):
            values = sorted(group.value.astype(str).unique())
            out[kind] = {
                "count": int(len(group)),
                "locations": {k: int(v) for k, v in group.location.value_counts().sort_index().items()},
                "distinct_values": len(values),
                "values": values[:1000],
            }
        return out


def _iso_ms(period: DemoPeriod, hours: np.ndarray) -> np.ndarray:
    ms = np.floor(np.asarray(hours, dtype=float) * 3_600_000).astype(np.int64)
    stamps = period.start_ts.astype("datetime64[ms]") + ms.astype("timedelta64[ms]")
    return np.char.add(np.datetime_as_string(stamps, unit="ms"), "Z").astype(object)


def simulate_product_events(period: DemoPeriod, n_users: int, rng: np.random.Generator,
                            pii_rng: np.random.Generator) -> tuple[list[Block], dict, PiiLedger]:
    """Every user's events, one ``Block`` per event name (and PII planting), vectorised."""
    hours = float(period.hours)
    ledger = PiiLedger()
    blocks: list[Block] = []

    def add(name: str, users: np.ndarray, t: np.ndarray, **props: object) -> np.ndarray:
        """Events of ``name`` (those before the period end); returns the kept mask."""
        keep = t < hours
        frame = pd.DataFrame({k: (np.asarray(v)[keep] if isinstance(v, np.ndarray) else v)
                              for k, v in props.items()}, index=np.arange(int(keep.sum())))
        blocks.append(Block(name, users[keep], t[keep], frame))
        return keep

    def pick(values: tuple, n: int, p: list[float] | None = None) -> np.ndarray:
        return np.asarray(values, dtype=object)[rng.choice(len(values), n, p=p)]

    u = np.arange(n_users)
    t0 = rng.uniform(0, hours * 0.85, n_users)
    platform = pick(("ios", "android", "web"), n_users, [0.5, 0.35, 0.15])
    version = np.where(t0 < hours / 3, "2.3.0", "2.4.1").astype(object)
    signed_up = rng.random(n_users) < 0.6
    signup_t = t0 + rng.uniform(0.05, 0.2, n_users)

    # --- install and onboarding (anonymous) ----------------------------------------------
    add("app_installed", u, t0, platform=platform, app_version=version)
    flow = np.where(rng.random(n_users) < 0.8, "default", "short").astype(object)
    add("onboarding_started", u, t0 + 0.002, flow_id=flow)
    k = rng.integers(1, len(ONBOARDING_STEPS) + 1, n_users)
    su = np.repeat(u, k)
    step = np.arange(su.size) - np.repeat(np.cumsum(k) - k, k) + 1
    add("onboarding_step_completed", su, t0[su] + 0.004 * step,
        step=np.asarray(ONBOARDING_STEPS, dtype=object)[step - 1], step_index=step, flow_id=flow[su],
        total_steps=len(ONBOARDING_STEPS))
    done = k == len(ONBOARDING_STEPS)
    add("onboarding_completed", u[done], t0[done] + 0.03, flow_id=flow[done],
        duration_seconds=np.round(rng.uniform(40, 400, int(done.sum())), 1))
    skipped = ~done & (rng.random(n_users) < 0.5)
    add("onboarding_skipped", u[skipped], t0[skipped] + 0.03,
        step=np.asarray(ONBOARDING_STEPS, dtype=object)[k[skipped]], step_index=k[skipped] + 1)

    # --- sign-up: e-mail sign-ups send the e-mail; app 2.3.0 also sent the password (a bug) ----
    su_idx = u[signed_up]
    n_su = su_idx.size
    method = pick(("email", "google", "apple"), n_su, [0.6, 0.25, 0.15])
    emails = make_pii(pii_rng, n_su)
    email = np.where(method == "email", emails["email"], None)
    password = np.where((method == "email") & (version[su_idx] == "2.3.0"), emails["password"], None)
    ledger.add("email", "signup_completed.email", email[email != None])  # noqa: E711
    ledger.add("password", "signup_completed.password", password[password != None])  # noqa: E711
    add("signup_completed", su_idx, signup_t[su_idx], method=method, email=email, password=password)

    # --- sessions: one at install for everyone, more for signed-up users --------------------
    extra = np.where(signed_up, rng.poisson(rng.gamma(1.2, 2.5, n_users)), 0)
    n_sess = 1 + extra
    s_user = np.repeat(u, n_sess)
    first = np.cumsum(n_sess) - n_sess
    gaps = rng.exponential(40.0, s_user.size)
    gaps[first] = 0.0
    cum = np.cumsum(gaps)
    s_t = t0[s_user] + 0.05 + cum - np.repeat(cum[first], n_sess)
    s_no = np.arange(s_user.size) - np.repeat(first, n_sess)
    ok = s_t < hours - 1
    s_user, s_t, s_no = s_user[ok], s_t[ok], s_no[ok]
    n_s = s_user.size
    s_len = rng.uniform(0.05, 0.5, n_s)  # session length, hours
    notif = rng.random(n_s) < 0.1
    add("notification_opened", s_user[notif], s_t[notif] - 0.001,
        notification_id="nt_" + letter_ids(np.flatnonzero(notif), 6),
        campaign=pick(("weekly_tips", "streak_reminder", "new_templates"), int(notif.sum())))
    add("app_opened", s_user, s_t, cold_start=rng.random(n_s) < 0.6, app_version=version[s_user])
    returning = (s_no >= 1) & signed_up[s_user] & (rng.random(n_s) < 0.3)
    login_method = pick(("email", "google", "apple"), int(returning.sum()))
    add("login", s_user[returning], s_t[returning] + 0.001, method=login_method, success=True)
    failed = returning & (rng.random(n_s) < 0.2)
    if returning.any() and not failed.any():
        failed[np.flatnonzero(returning)[0]] = True  # at least one planted password
    n_fail = int(failed.sum())
    attempts = make_pii(pii_rng, n_fail)
    fail_t = s_t[failed] + 0.0005
    kept = add("login_failed", s_user[failed], fail_t, reason="wrong_password", email=attempts["email"],
               password=attempts["password"])
    ledger.add("email", "login_failed.email", attempts["email"][kept])
    ledger.add("password", "login_failed.password", attempts["password"][kept])
    add("app_backgrounded", s_user, s_t + s_len, session_seconds=np.round(s_len * 3600, 1))
    logout = rng.random(n_s) < 0.05
    add("logout", s_user[logout], s_t[logout] + s_len[logout] - 0.0005)

    # --- prompts and responses ------------------------------------------------------------
    m = 1 + rng.poisson(1.0, n_s)
    p_sess = np.repeat(np.arange(n_s), m)
    p_user = s_user[p_sess]
    p_t = s_t[p_sess] + 0.01 * (np.arange(p_sess.size) - np.repeat(np.cumsum(m) - m, m) + 1)
    n_p = p_sess.size
    prompt_id = "pr_" + letter_ids(np.arange(n_p), 7)
    conversation = "cv_" + letter_ids(p_sess, 6)
    text = pick(CLEAN_PROMPTS, n_p)
    kind_u = rng.random(n_p)
    pii = make_pii(pii_rng, n_p)
    lo = 0.0
    # At least one prompt of each kind, however small the demo: taken from the clean prompts.
    forced = np.flatnonzero((kind_u >= 0.2) & (kind_u < 0.98))[:4]
    for i, (kind, share, before, after) in enumerate((
        ("email", 0.06, "Write a polite follow-up email to ", " about the unpaid invoice"),
        ("phone", 0.03, "My number is ", ", draft a text asking the landlord to call me back"),
        ("ssn", 0.01, "Is it safe to put my SSN ", " on this rental application?"),
        ("card", 0.015, "My card ", " got declined twice, write a complaint to the bank"),
    )):
        sel = (kind_u >= lo) & (kind_u < lo + share)
        if n_p >= 20 and not sel.any() and i < forced.size:
            sel[forced[i]] = True
            kind_u[forced[i]] = lo
        text = np.where(sel, before + pii[kind] + after, text)
        ledger.add(kind, "prompt_submitted.prompt_text", pii[kind][sel & (p_t < hours)])
        lo += share
    long_sel = (kind_u >= 0.99) & (kind_u < 0.993)
    if n_p >= 200 and not long_sel.any():
        long_sel[n_p // 2] = True
    filler = ("Meeting notes. The quarterly review covered revenue, churn and the hiring plan. "
              "Action items were assigned to each team lead. ") * 60
    text = np.where(long_sel, "Summarize this document in five bullets: " + filler, text)
    model = np.asarray(MODELS, dtype=object)[(rng.random(n_p) < 0.3).astype(int)]
    source = pick(("composer", "suggestion", "template", "voice", "retry"), n_p, [0.7, 0.1, 0.1, 0.05, 0.05])
    template_id = np.where(source == "template", "tpl_" + letter_ids(rng.integers(0, 40, n_p), 3), None)
    add("prompt_submitted", p_user, p_t, prompt_id=prompt_id, prompt_text=text, model=model,
        conversation_id=conversation, prompt_length=pd.Series(text).str.len().to_numpy(), source=source,
        template_id=template_id)
    failed_p = rng.random(n_p) < 0.02
    latency = rng.lognormal(np.log(1800), 0.5, n_p).astype(np.int64)
    r_t = p_t + latency / 3_600_000
    add("ai_response_failed", p_user[failed_p], r_t[failed_p], prompt_id=prompt_id[failed_p],
        model=model[failed_p], error_code=pick(("timeout", "rate_limited", "upstream_error"), int(failed_p.sum())),
        latency_ms=latency[failed_p], retryable=rng.random(int(failed_p.sum())) < 0.7)
    ok_p = ~failed_p
    response_id = "rs_" + letter_ids(np.arange(n_p), 7)
    tokens_in = pd.Series(text).str.len().to_numpy() // 4 + 3
    tokens_out = rng.integers(40, 900, n_p)
    add("ai_response_generated", p_user[ok_p], r_t[ok_p], response_id=response_id[ok_p],
        prompt_id=prompt_id[ok_p], model=model[ok_p],
        response_text=pick(("Here is a draft you can use.", "Sure! Here are five ideas.",
                            "Of course. A shorter version:", "Great question, in short:"), n_p)[ok_p],
        tokens_in=tokens_in[ok_p], tokens_out=tokens_out[ok_p],
        cost_usd=np.round((tokens_in + tokens_out) * np.where(model == "gpt-4o", 0.00001, 0.0000006), 6)[ok_p],
        latency_ms=latency[ok_p], rendered_at=_iso_ms(period, r_t + 0.2 / 3600)[ok_p],
        conversation_id=conversation[ok_p],
        finish_reason=np.where(rng.random(n_p) < 0.95, "stop", "length").astype(object)[ok_p])
    for name, share, delay in (("response_copied", 0.35, 0.004), ("response_liked", 0.18, 0.005),
                               ("response_disliked", 0.07, 0.005), ("response_regenerated", 0.10, 0.003),
                               ("response_shared", 0.04, 0.006)):
        sel = ok_p & (rng.random(n_p) < share)
        n_sel = int(sel.sum())
        extra_props: dict = {}
        if name == "response_copied":
            extra_props = {"copied_chars": rng.integers(20, 2000, n_sel), "destination": "clipboard"}
        elif name == "response_regenerated":
            extra_props = {"prompt_id": prompt_id[sel]}
        elif name == "response_shared":
            extra_props = {"share_target": pick(("messages", "mail", "whatsapp", "notes"), n_sel)}
        elif name == "response_disliked":
            fb_pii = make_pii(pii_rng, n_sel)
            fb_kind = rng.random(n_sel)
            fb = np.where(fb_kind < 0.5, None, "Too long and off-topic")
            with_phone = fb_kind >= 0.85
            with_email = (fb_kind >= 0.75) & (fb_kind < 0.85)
            fb = np.where(with_phone, "Wrong answer, please call me at " + fb_pii["phone"], fb)
            fb = np.where(with_email, "Not what I asked, reply to " + fb_pii["email"], fb)
            in_time = (r_t[sel] + delay) < hours
            ledger.add("phone", "response_disliked.feedback_text", fb_pii["phone"][with_phone & in_time])
            ledger.add("email", "response_disliked.feedback_text", fb_pii["email"][with_email & in_time])
            extra_props = {"reason": pick(("inaccurate", "unhelpful", "too_long", "other"), n_sel),
                           "feedback_text": fb}
        add(name, p_user[sel], r_t[sel] + delay, response_id=response_id[sel], **extra_props)
    share = ok_p & (rng.random(n_p) < 0.03)
    add("share_clicked", p_user[share], r_t[share] + 0.007, content_type="response", response_id=response_id[share],
        channel=pick(("copy_link", "whatsapp", "sms"), int(share.sum())))
    invite = rng.random(n_s) < 0.02
    add("share_clicked", s_user[invite], s_t[invite] + 0.02, content_type="app_invite",
        channel=pick(("copy_link", "whatsapp", "sms"), int(invite.sum())))

    # --- other feature usage ----------------------------------------------------------------
    nf = rng.poisson(0.8, n_s)
    f_sess = np.repeat(np.arange(n_s), nf)
    n_f = f_sess.size
    feature = pick(FEATURES, n_f)
    integ = rng.random(n_f) < 0.01
    if n_f and not integ.any():
        integ[n_f // 2] = True  # at least one planted secret
    api_key = np.where(integ, make_pii(pii_rng, n_f)["secret"], None)
    feature = np.where(integ, "api_integration", feature)
    f_t = s_t[f_sess] + rng.uniform(0.02, 0.3, n_f)
    ledger.add("secret", "feature_used.api_key", api_key[integ & (f_t < hours)])
    add("feature_used", s_user[f_sess], f_t, feature=feature, surface=pick(("chat", "editor", "settings"), n_f),
        duration_ms=rng.integers(200, 60_000, n_f), api_key=api_key)
    nv = rng.poisson(1.5, n_s)
    v_sess = np.repeat(np.arange(n_s), nv)
    add("screen_viewed", s_user[v_sess], s_t[v_sess] + rng.uniform(0.001, 0.3, v_sess.size),
        screen=pick(SCREENS, v_sess.size))
    search = rng.random(n_s) < 0.2
    n_q = int(search.sum())
    q_pii = make_pii(pii_rng, n_q)
    query = pick(("meeting notes", "invoice template", "cover letter", "birthday", "recipes"), n_q)
    q_email = rng.random(n_q) < 0.04
    query = np.where(q_email, "emails from " + q_pii["email"], query)
    q_t = s_t[search] + 0.02
    ledger.add("email", "search_performed.query", q_pii["email"][q_email & (q_t < hours)])
    add("search_performed", s_user[search], q_t, query=query,
        query_length=pd.Series(query).str.len().to_numpy(), results_count=rng.integers(0, 40, n_q), scope="history")
    setting = rng.random(n_s) < 0.05
    n_set = int(setting.sum())
    add("settings_changed", s_user[setting], s_t[setting] + 0.05,
        setting=pick(("theme", "language", "notifications", "default_model"), n_set),
        old_value="default", new_value=pick(("dark", "en", "off", "gpt-4o"), n_set))

    # --- paywall, purchases, trials, subscriptions (signed-up users, second session) ---------
    second = s_no == 1
    pw_user, pw_t = s_user[second], s_t[second] + 0.03
    n_pw = pw_user.size
    paywall_id = np.where(rng.random(n_pw) < 0.5, "pw_spring", "pw_default").astype(object)
    add("paywall_shown", pw_user, pw_t, paywall_id=paywall_id, placement="limit_reached", trigger="prompt_limit")
    outcome = rng.random(n_pw)
    dismissed = outcome < 0.55
    trial = (outcome >= 0.55) & (outcome < 0.85)
    buy = outcome >= 0.85
    add("paywall_dismissed", pw_user[dismissed], pw_t[dismissed] + 0.004, paywall_id=paywall_id[dismissed],
        placement="limit_reached", seconds_visible=np.round(rng.uniform(1, 30, int(dismissed.sum())), 1))
    plan = np.asarray(PLANS, dtype=object)[(rng.random(n_pw) < 0.3).astype(int)]
    price = np.where(plan == "annual", PLAN_PRICE["annual"], PLAN_PRICE["monthly"])
    product = np.where(plan == "annual", "muse_pro_annual", "muse_pro_monthly").astype(object)
    period_name = np.where(plan == "annual", "year", "month").astype(object)
    store = np.select([platform[pw_user] == "ios", platform[pw_user] == "android"], ["app_store", "play_store"],
                      "web").astype(object)
    add("trial_started", pw_user[trial], pw_t[trial] + 0.005, plan=plan[trial], trial_days=7,
        product_id=product[trial])
    converts = trial & (rng.random(n_pw) < 0.45)
    cancels = trial & ~converts
    add("trial_converted", pw_user[converts], pw_t[converts] + 168, plan=plan[converts], price=price[converts],
        currency="USD")
    used = rng.uniform(1, 6.6, int(cancels.sum()))
    add("trial_cancelled", pw_user[cancels], pw_t[cancels] + used * 24, plan=plan[cancels],
        reason=pick(("too_expensive", "not_useful", "other"), int(cancels.sum())), days_used=np.ceil(used).astype(int))
    add("purchase_started", pw_user[buy], pw_t[buy] + 0.005, product_id=product[buy], paywall_id=paywall_id[buy],
        price=price[buy], currency="USD")
    ok_buy = buy & (rng.random(n_pw) < 0.8)
    bad_buy = buy & ~ok_buy
    add("purchase_completed", pw_user[ok_buy], pw_t[ok_buy] + 0.01, product_id=product[ok_buy],
        price=price[ok_buy], currency="USD", transaction_id="tx_" + letter_ids(np.flatnonzero(ok_buy), 6),
        paywall_id=paywall_id[ok_buy], store=store[ok_buy], is_trial=False)
    add("purchase_failed", pw_user[bad_buy], pw_t[bad_buy] + 0.01, product_id=product[bad_buy],
        error_code=pick(("card_declined", "network_error"), int(bad_buy.sum())), paywall_id=paywall_id[bad_buy])
    subs = ok_buy | converts
    sub_t = np.where(converts, pw_t + 168, pw_t + 0.011)
    add("subscription_started", pw_user[subs], sub_t[subs], plan=plan[subs], price=price[subs], currency="USD",
        period=period_name[subs], from_trial=converts[subs])
    monthly = subs & (plan == "monthly")
    renewals = np.where(monthly, np.minimum(rng.geometric(0.3, n_pw) - 1, 6), 0)
    r_user = np.repeat(pw_user, renewals)
    r_k = np.arange(r_user.size) - np.repeat(np.cumsum(renewals) - renewals, renewals) + 1
    add("subscription_renewed", r_user, np.repeat(sub_t, renewals) + 30 * 24 * r_k, plan="monthly",
        price=PLAN_PRICE["monthly"], currency="USD", renewal_count=r_k)
    cancel_sub = subs & (rng.random(n_pw) < 0.12)
    c_at = sub_t[cancel_sub] + rng.uniform(48, 900, int(cancel_sub.sum()))
    add("subscription_cancelled", pw_user[cancel_sub], c_at, plan=plan[cancel_sub],
        reason=pick(("too_expensive", "switched_app"), int(cancel_sub.sum())),
        ends_at=_iso_ms(period, sub_t[cancel_sub] + 30 * 24))
    restore = su_idx[rng.random(n_su) < 0.02]
    add("restore_purchases", restore, signup_t[restore] + 1.0, success=rng.random(restore.size) < 0.8,
        restored_count=rng.integers(0, 2, restore.size))

    # --- contacts -------------------------------------------------------------------------------
    has_contacts = su_idx[rng.random(n_su) < 0.3]
    nc = rng.integers(1, 6, has_contacts.size)
    c_user = np.repeat(has_contacts, nc)
    n_c = c_user.size
    c_t = signup_t[c_user] + rng.uniform(1, 24 * 30, n_c)
    contact_id = "ct_" + letter_ids(np.arange(n_c), 6)
    c_pii = make_pii(pii_rng, n_c)
    c_email = np.where(rng.random(n_c) < 0.7, c_pii["email"], None)
    c_phone = np.where(rng.random(n_c) < 0.6, c_pii["phone"], None)
    names = pick(FIRST_NAMES, n_c) + " " + pick(LAST_NAMES, n_c)
    in_time = c_t < hours
    ledger.add("email", "contact_added.contact_email", c_email[(c_email != None) & in_time])  # noqa: E711
    ledger.add("phone", "contact_added.contact_phone", c_phone[(c_phone != None) & in_time])  # noqa: E711
    add("contact_added", c_user, c_t, contact_id=contact_id, source=pick(("manual", "share"), n_c),
        contact_name=names, contact_email=c_email, contact_phone=c_phone)
    upd = rng.random(n_c) < 0.2
    add("contact_updated", c_user[upd], c_t[upd] + rng.uniform(1, 200, int(upd.sum())), contact_id=contact_id[upd],
        fields_changed=pick(("name", "notes", "name,notes"), int(upd.sum())))
    dele = rng.random(n_c) < 0.1
    add("contact_deleted", c_user[dele], c_t[dele] + rng.uniform(1, 300, int(dele.sum())), contact_id=contact_id[dele])
    msg = rng.random(n_c) < 0.4
    n_m = int(msg.sum())
    m_pii = make_pii(pii_rng, n_m)
    m_phone = rng.random(n_m) < 0.15
    message = np.where(m_phone, "Hi! My new number is " + m_pii["phone"] + ", save it",
                       "Hi, here is the draft we talked about")
    m_t = c_t[msg] + rng.uniform(0.5, 100, n_m)
    ledger.add("phone", "contact_message_sent.message_text", m_pii["phone"][m_phone & (m_t < hours)])
    add("contact_message_sent", c_user[msg], m_t, contact_id=contact_id[msg],
        channel=pick(("sms", "email", "whatsapp"), n_m), message_text=message)
    imp = has_contacts[rng.random(has_contacts.size) < 0.25]
    add("contact_imported", imp, signup_t[imp] + 2.0, count=rng.integers(5, 120, imp.size),
        source=pick(("device", "google", "csv"), imp.size))

    users = {
        "t0": t0, "signed_up": signed_up, "signup_t": signup_t, "platform": platform, "version": version,
        "anonymous_id": _uuid4(rng, n_users), "user_id": "usr_" + letter_ids(rng.permutation(n_users), 6),
        "long_text": int(long_sel[p_t < hours].sum()),
    }
    return blocks, users, ledger


# ----------------------------------------------------------------------------------------
# Serialisation
# ----------------------------------------------------------------------------------------
def _props_json(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame) -> np.ndarray:
    """One JSON object per row of ``frame``, with null properties left out."""
    out = np.empty(len(frame), dtype=object)
    if frame.shape[1] == 0:
        out[:] = "{}"
        return out
    present = frame.notna().to_numpy()
    pattern = present @ (1 << np.arange(frame.shape[1], dtype=np.int64))
    for code in np.unique(pattern):
        rows = np.flatnonzero(pattern == code)
        cols = [c for j, c in enumerate(frame.columns) if code >> j & 1]
        if not cols:
            out[rows] = "{}"
            continue
        part = frame.iloc[rows][cols].reset_index(drop=True)
        for c in cols:  # object columns of numbers or bools would become VARCHAR
            if part[c].dtype == object:
                part[c] = part[c].astype(str)
        con.register("props_part", part)
        out[rows] = con.execute("SELECT to_json(p) AS j FROM props_part p").fetchnumpy()["j"]
        con.unregister("props_part")
    return out


def build_event_table(period: DemoPeriod, blocks: list[Block], users: dict,
                      rng: np.random.Generator) -> pd.DataFrame:
    """All events, sorted by time, with their JSON properties and context."""
    with duckdb.connect() as con:
        con.execute("SET threads = 2")
        parts = []
        for block in blocks:
            if block.user.size == 0:
                continue
            parts.append(pd.DataFrame({"user": block.user, "t": block.t, "event": block.name,
                                       "properties": _props_json(con, block.props)}))
    events = pd.concat(parts, ignore_index=True)
    events = events.sort_values(["t", "user", "event"], kind="stable", ignore_index=True)
    events["t"] = np.floor(events.t.to_numpy() * 3_600_000) / 3_600_000  # whole milliseconds
    identified = users["signed_up"][events.user] & (events.t.to_numpy() >= users["signup_t"][events.user])
    events["user_id"] = np.where(identified, users["user_id"][events.user], None)
    events["anonymous_id"] = users["anonymous_id"][events.user]
    events["message_id"] = _uuid4(rng, len(events))
    platform = users["platform"][events.user]
    version = users["version"][events.user]
    os_name = np.select([platform == "ios", platform == "android"], ['"iOS","version":"17.4"',
                                                                       '"Android","version":"14"'],
                        '"Web","version":"1"')
    events["context"] = ('{"app":{"name":"Pocket Muse","version":"' + version + '"},"os":{"name":' + os_name
                         + '},"library":{"name":"analytics-' + platform + '","version":"1.5.3"},"locale":"en-US"}')
    ms = (events.t.to_numpy() * 3_600_000).round().astype(np.int64)
    events["timestamp"] = np.char.add(
        np.datetime_as_string(period.start_ts.astype("datetime64[ms]") + ms.astype("timedelta64[ms]"), unit="ms"),
        "Z")
    events["day"] = ms // 86_400_000
    return events


def _envelopes(events: pd.DataFrame, snake_case: bool = False) -> np.ndarray:
    """Segment track-call JSON lines (keys in Segment's camelCase, or the snake_case aliases)."""
    keys = (("event_id", "event_name", "user_id", "anonymous_id", "occurred_at") if snake_case else
            ("messageId", "event", "userId", "anonymousId", "timestamp"))
    user = np.where(events.user_id.isna(), "", '"' + keys[2] + '":"' + events.user_id.fillna("") + '",')
    head = '{"type":"track",' if not snake_case else "{"
    return (head + '"' + keys[0] + '":"' + events.message_id + '","' + keys[1] + '":"' + events.event + '",'
            + user + '"' + keys[3] + '":"' + events.anonymous_id + '","' + keys[4] + '":"' + events.timestamp
            + '","properties":' + events.properties + ',"context":' + events.context + "}").to_numpy(dtype=object)


def write_product_events(writer: LandingWriter, period: DemoPeriod, n_events: int, rng: np.random.Generator,
                         pii_rng: np.random.Generator, plant_bad_input: bool) -> dict:
    pilot_blocks, _, _ = simulate_product_events(period, 500, np.random.default_rng(0), np.random.default_rng(1))
    per_user = sum(b.user.size for b in pilot_blocks) / 500
    n_users = max(20, int(round(n_events / per_user)))
    blocks, users, ledger = simulate_product_events(period, n_users, rng, pii_rng)
    events = build_event_table(period, blocks, users, rng)
    lines = _envelopes(events)
    days = events.day.to_numpy()
    bounds = np.searchsorted(days, np.arange(period.days + 1))
    for d in range(period.days):
        lo, hi = bounds[d], bounds[d + 1]
        if hi <= lo:
            continue
        name = (period.start + timedelta(days=d)).isoformat()
        writer.write_ndjson("product_events", f"product_events/{name}.ndjson.gz", lines[lo:hi].tolist(),
                            compress=True)

    taxonomy = _write_backfill(writer, period, events, plant_bad_input)
    counts = events.event.value_counts().sort_index()
    signed = users["signed_up"]
    erasure_user = int(np.flatnonzero(signed)[len(np.flatnonzero(signed)) // 3]) if signed.any() else 0
    anon_only = np.flatnonzero(~signed)
    erasure_anon = int(anon_only[len(anon_only) // 2]) if anon_only.size else 0
    return {
        "app": "Pocket Muse (an AI writing assistant)",
        "events": int(len(events)),
        "users": int(n_users),
        "identified_users": int(signed.sum()),
        "event_names": int(len(counts)),
        "event_counts": {k: int(v) for k, v in counts.items()},
        "taxonomy": "validation/taxonomy/events.yml (every generated event conforms, except taxonomy_violations)",
        "pii": ledger.summary(),
        "long_text_over_5000_chars": {"count": users["long_text"], "location": "prompt_submitted.prompt_text"},
        "taxonomy_violations": taxonomy,
        "_erasure": {"user_id": str(users["user_id"][erasure_user]),
                     "anonymous_id": str(users["anonymous_id"][erasure_anon]),
                     "user_events": int((events.user == erasure_user).sum()),
                     "anonymous_events": int((events.user == erasure_anon).sum())},
    }


def _write_backfill(writer: LandingWriter, period: DemoPeriod, events: pd.DataFrame,
                    plant_bad_input: bool) -> list[dict]:
    """A backfill file from the warehouse export (snake_case keys, plain NDJSON) that re-sends
    a handful of feature events with new ids. It also holds the planted bad lines (quarantined
    by the raw ingest) and three events that break the taxonomy (quarantined by issue 6's
    taxonomy check as ``taxonomy_violation``), each a real event with exactly one defect."""
    day = min(30, period.days - 1)
    sample = events[(events.day == day) & (events.event == "feature_used")].head(6).copy()
    if len(sample) < 3:
        sample = events[events.event == "feature_used"].head(6).copy()
    if len(sample) < 3:
        return []
    sample["message_id"] = "bf-" + pd.Series(np.arange(len(sample)).astype(str)).str.zfill(6).to_numpy()
    lines: list[str] = list(_envelopes(sample, snake_case=True))
    rel = f"product_events/{(period.start + timedelta(days=day)).isoformat()}_backfill.ndjson"
    planted: list[PlantedRow] = []
    violations: list[dict] = []
    if plant_bad_input:
        base = sample.iloc[0]
        anon, ts = base.anonymous_id, base.timestamp
        planted = [
            PlantedRow(2, lines[1], Planted("duplicate_row", "the same event re-sent twice in one backfill")),
            PlantedRow(3, '{"event_id":"bf-900001","event_name":"app_opened","anonymous_id":',
                       Planted("invalid_json", "a line cut off mid-object")),
            PlantedRow(4, f'{{"event_id":"bf-900002","anonymous_id":"{anon}","occurred_at":"{ts}",'
                          f'"properties":{{}},"context":{{}}}}',
                       Planted("missing_required", "an event without an event name", "event_name")),
        ]
        defects = (
            ("prompt_submitted", "bf-900010", "prompt_submited", None, None,
             "unknown event name (a typo of prompt_submitted)"),
            ("prompt_submitted", "bf-900011", None, "prompt_id", None, "required property prompt_id is missing"),
            ("ai_response_generated", "bf-900012", None, None, ("latency_ms", "fast"),
             "latency_ms must be an integer, got a string"),
        )
        first_line = len(lines) + len(planted) + 1
        for event, event_id, rename, drop, retype, why in defects:
            original = events[events.event == event]
            if original.empty:
                continue
            props = json.loads(original.properties.iloc[0])
            if drop:
                props.pop(drop)
            if retype:
                props[retype[0]] = retype[1]
            row = original.iloc[[0]].assign(message_id=event_id, event=rename or event,
                                             properties=json.dumps(props, separators=(",", ":")))
            lines.append(str(_envelopes(row, snake_case=True)[0]))
            violations.append({"source": "product_events", "file": rel, "line": first_line + len(violations),
                               "reason_code": "taxonomy_violation", "event_id": event_id, "note": why})
    writer.write_ndjson("product_events", rel, lines, planted=planted)
    return violations
