"""Fixed vocabularies of the demo world: agencies, names, captions, hashtags, user agents.

Only the demo generator uses these. Captions carry the hashtags and words a rule-based
content-type suggester would look for, so posts without a manual tag can still be typed.
"""

from __future__ import annotations

AGENCIES = (
    # agency_id, name, IANA time zone, currency, export style (0, 1, 2: see creator_files)
    ("ag_nova", "Nova Talent Group", "America/New_York", "USD", 0),
    ("ag_lumen", "Lumen Creators GmbH", "Europe/Berlin", "EUR", 1),
    ("ag_pacific", "Pacific Reach Media", "America/Los_Angeles", "USD", 2),
    ("ag_harbour", "Harbour Social", "Europe/London", "GBP", 0),
    ("ag_sol", "Sol & Co Management", "Australia/Sydney", "AUD", 1),
    ("ag_kite", "Kite Creator Agency", "America/Chicago", "USD", 2),
)

CUSTOM_CONTENT_TYPE = "cosplay"
"""An agency-defined content type (agencies with export style 2 use it); only manual tags know it."""

FIRST_NAMES = (
    "Mia", "Ava", "Luna", "Zoe", "Isla", "Nora", "Ruby", "Cleo", "Jade", "Skye", "Lola", "Nina",
    "Tess", "Vera", "Ella", "Rosa", "Kira", "Maya", "Lena", "Iris", "Dana", "Faye", "Gia", "Hana",
)
LAST_NAMES = (
    "Rose", "Vale", "Stone", "Monroe", "Blake", "Carter", "Reyes", "Hart", "Quinn", "Lane", "Knox",
    "Frost", "Wilde", "Ray", "Bloom", "Cruz", "Day", "Fox", "Gray", "Hale", "Jett", "Kane", "Lux", "Moss",
)

USERNAME_ADJECTIVES = (
    "sunny", "quiet", "lucky", "midnight", "velvet", "cosmic", "salty", "golden", "rapid", "mellow",
    "crimson", "frosty", "humble", "wild", "silver", "brave", "sleepy", "neon", "rusty", "jolly",
)
USERNAME_NOUNS = (
    "fox", "otter", "comet", "panda", "raven", "tiger", "maple", "pixel", "rider", "sparrow",
    "falcon", "badger", "willow", "ember", "harbor", "lynx", "nomad", "pilot", "cactus", "walrus",
)

CAPTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # content type -> (caption openers, type hashtags)
    "storytime": (
        ("storytime: the worst date of my life", "story time about my old roommate",
         'storytime: he said "trust me", so I did', "you won't believe what happened at the gym today",
         "part 2 of the airport story"),
        ("#storytime", "#storytimes", "#story"),
    ),
    "grwm": (
        ("grwm for a night out", "get ready with me: date night edition", "GRWM + chit chat, 5am edition",
         "get ready with me for the wedding", "grwm: five minute makeup"),
        ("#grwm", "#getreadywithme", "#makeuproutine"),
    ),
    "thirst_trap": (
        ("new fit, who dis", "feeling cute today", "mirror check", "golden hour hits different",
         "rate this look 1-10"),
        ("#thirsttrap", "#fitcheck", "#ootd"),
    ),
    "behind_scenes": (
        ("behind the scenes of today's shoot", "bts: how we film a week of content",
         "what a shoot day really looks like", "the bloopers you never saw", "setting up the studio"),
        ("#bts", "#behindthescenes", "#creatorlife"),
    ),
    "money_talk": (
        ("how much I made this month as a creator", "money talk: my first $10k month",
         "budgeting as a full-time creator", "what I spend on content, honestly", "taxes, explained badly"),
        ("#moneytalk", "#creatoreconomy", "#personalfinance"),
    ),
    "other": (
        ("random dump from this week", "sunday reset", "answering your questions", "q&a, part 3",
         "a very normal tuesday"),
        ("#dayinmylife", "#photodump", "#vlog"),
    ),
    CUSTOM_CONTENT_TYPE: (
        ("cosplay reveal, who am I?", "spent 40 hours on this costume", "con weekend recap",
         "cosplay transformation", "guess the character"),
        ("#cosplay", "#cosplaygirl", "#anime"),
    ),
}
GENERIC_HASHTAGS = ("#fyp", "#foryou", "#viral", "#explore", "#reels")

VIEW_FACTOR_BY_TYPE = {
    # Relative reach of a type; thirst traps reach most but, in most creators, convert least.
    "storytime": 1.0, "grwm": 0.9, "thirst_trap": 1.7, "behind_scenes": 0.7, "money_talk": 0.8,
    "other": 0.6, CUSTOM_CONTENT_TYPE: 1.2,
}

USER_AGENTS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/123.0.6312.99 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/122.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPad; CPU OS 17_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.3 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51",
)
USER_AGENT_WEIGHTS = (0.30, 0.22, 0.18, 0.10, 0.05, 0.08, 0.04, 0.03)
