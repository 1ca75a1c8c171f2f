"""Rule-based content-type suggestions from a post's caption and hashtags.

A manual tag (``stg_social__content_tags``) always wins; these rules only fill in the posts
nobody tagged. The rules are ordered: the first rule whose pattern matches the lower-cased
caption (hashtags included) decides; a caption that matches none, or no caption, gets
:data:`FALLBACK_TYPE`.

The same rules run in SQL: ``dbt_project/models/intermediate/creator/int_post_content_types.sql``
holds them as a ``VALUES`` list that :func:`rules_values_sql` renders, and a test checks that
the model and this module agree, so the two can never drift apart. Patterns are RE2 syntax
(DuckDB's ``regexp_matches``) and Python ``re`` at the same time: only ``\\b``, ``?``, ``|``,
groups and literal text are used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

__all__ = ["CONTENT_TYPE_RULES", "FALLBACK_TYPE", "ContentTypeRule", "rules_values_sql", "suggest_content_type",
           "suggest_content_types"]

FALLBACK_TYPE = "other"


@dataclass(frozen=True)
class ContentTypeRule:
    """One rule: ``content_type`` when ``pattern`` matches the lower-cased caption."""

    priority: int
    content_type: str
    pattern: str

    def __post_init__(self) -> None:
        if "'" in self.pattern:
            raise ValueError(f"rule {self.content_type!r}: a pattern may not contain a single quote")
        re.compile(self.pattern)


CONTENT_TYPE_RULES: tuple[ContentTypeRule, ...] = (
    # Most specific first: a GRWM caption often tells a story, so grwm outranks storytime.
    ContentTypeRule(1, "grwm", r"\bgrwm\b|get ?ready ?with ?me|#getreadywithme|#makeuproutine"),
    ContentTypeRule(2, "behind_scenes", r"behind ?the ?scenes|#behindthescenes|\bbts\b|\bbloopers?\b|"
                                        r"\bshoot day\b|#creatorlife"),
    ContentTypeRule(3, "money_talk", r"money ?talk|#moneytalk|#creatoreconomy|#personalfinance|"
                                     r"how much i (?:made|make|earn)|\bbudget(?:ing)?\b|\bincome\b|\btaxes\b"),
    ContentTypeRule(4, "storytime", r"story ?times?\b|#storytimes?\b|#story\b|you won.?t believe|"
                                    r"\btrue story\b"),
    ContentTypeRule(5, "thirst_trap", r"thirst ?trap|#thirsttrap|fit ?check|#fitcheck|#ootd|\bootd\b|"
                                      r"mirror check|rate this look"),
)

_COMPILED = tuple((rule, re.compile(rule.pattern)) for rule in CONTENT_TYPE_RULES)


def suggest_content_type(caption: str | None) -> str:
    """The suggested content type of one caption (:data:`FALLBACK_TYPE` when no rule matches)."""
    if caption is None or (isinstance(caption, float) and caption != caption):
        return FALLBACK_TYPE
    text = str(caption).lower()
    for rule, regex in _COMPILED:
        if regex.search(text):
            return rule.content_type
    return FALLBACK_TYPE


def suggest_content_types(captions: pd.Series) -> pd.Series:
    """Vectorised :func:`suggest_content_type` (one ``str.contains`` per rule, not per row)."""
    text = captions.astype("string").str.lower()
    out = pd.Series(FALLBACK_TYPE, index=captions.index, dtype="string")
    decided = pd.Series(False, index=captions.index)
    for rule in CONTENT_TYPE_RULES:
        hit = text.str.contains(rule.pattern, regex=True).fillna(False).astype(bool) & ~decided
        out[hit] = rule.content_type
        decided |= hit
    return out


def rules_values_sql() -> str:
    """The rules as the SQL ``VALUES`` rows the dbt model embeds (one rule a line)."""
    rows = [f"({r.priority}, '{r.content_type}', '{r.pattern}')" for r in CONTENT_TYPE_RULES]
    return ",\n".join(rows)
