"""The ``[respondents.<form>]`` tables of the study file: who answers each form at what age.

Rules must give every age from 0 up a respondent (S018); in mode ``single`` no two rules may
overlap, in mode ``all`` no respondent may have two overlapping rules (S017).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from itertools import pairwise
from typing import Any

from epro.forms.model import Respondent
from epro.schedule.collect import Collector
from epro.schedule.model import AgeRule, FormRespondents, RespondentMode

_FORM_KEYS = ("mode", "rules")
_RULE_KEYS = ("respondent", "from_age", "below_age")


def parse_respondents(out: Collector, data: Mapping[str, Any]) -> list[FormRespondents]:
    raw = data.get("respondents")
    if raw is None:
        out.add("S002", None, "the [respondents] table is missing", "add [respondents.<form>]")
        return []
    if not isinstance(raw, dict):
        out.add("S003", None, "'respondents' must be a table", "write [respondents.<form>]")
        return []
    entries: list[FormRespondents] = []
    for form_id, table in raw.items():
        where = f"respondents.{form_id}"
        if not isinstance(table, dict):
            out.add("S003", where, "must be a table with mode and rules", f"write [{where}]")
            continue
        out.unknown_keys(table, _FORM_KEYS, where)
        mode_text = table.get("mode", "")
        modes = [m.value for m in RespondentMode]
        if mode_text not in modes:
            close = difflib.get_close_matches(str(mode_text), modes, n=1)
            out.add(
                "S015",
                where,
                f"unknown mode {mode_text!r}",
                'use mode = "single" (one respondent per age) or "all" (every fitting rule)',
                suggestion=close[0] if close else None,
            )
            continue
        mode = RespondentMode(mode_text)
        rules = _rules(out, table, where)
        if rules is None:
            continue
        _check_coverage(out, mode, rules, where)
        entries.append(FormRespondents(form_id, mode, tuple(rules)))
    return entries


def _rules(out: Collector, table: Mapping[str, Any], where: str) -> list[AgeRule] | None:
    raw = table.get("rules")
    if not isinstance(raw, list) or not raw or not all(isinstance(r, dict) for r in raw):
        out.add(
            "S002" if raw is None else "S003",
            where,
            "'rules' must be a non-empty list of age rules",
            'write rules = [{ respondent = "parent", below_age = 8 }, ...]',
        )
        return None
    rules: list[AgeRule] = []
    names = [r.value for r in Respondent]
    ok = True
    for index, rule in enumerate(raw, start=1):
        at = f"{where}.rules[{index}]"
        out.unknown_keys(rule, _RULE_KEYS, at)
        respondent = rule.get("respondent")
        if respondent not in names:
            close = difflib.get_close_matches(str(respondent), names, n=1)
            out.add(
                "S015",
                at,
                f"unknown respondent {respondent!r}",
                f"use one of: {', '.join(names)}",
                suggestion=close[0] if close else None,
            )
            ok = False
            continue
        start = out.age(rule, "from_age", at)
        end = out.age(rule, "below_age", at)
        start = 0.0 if start is None else start
        if start < 0 or (end is not None and end <= start):
            band = f"{start:g} to below {end:g}" if end is not None else f"from {start:g}"
            out.add(
                "S016",
                at,
                f"the age band {band} holds no age",
                "use 0 ≤ from_age < below_age (from_age included, below_age not)",
            )
            ok = False
            continue
        rules.append(AgeRule(str(respondent), start, end))
    return rules if ok else None


def _check_coverage(out: Collector, mode: RespondentMode, rules: list[AgeRule], where: str) -> None:
    """Every age from 0 up must have a respondent; overlaps only where the mode allows them."""
    groups = [rules] if mode is RespondentMode.SINGLE else _by_respondent(rules)
    for group in groups:
        ordered = sorted(group, key=lambda rule: rule.from_age)
        for first, second in pairwise(ordered):
            if first.below_age is None or second.from_age < first.below_age:
                out.add(
                    "S017",
                    where,
                    f"the rules for {first.respondent} and {second.respondent} overlap "
                    f"from age {second.from_age:g}",
                    "let one rule end (below_age) where the next begins (from_age)",
                )
    reach = 0.0
    for rule in sorted(rules, key=lambda rule: rule.from_age):
        if rule.from_age > reach:
            break
        if rule.below_age is None:
            return
        reach = max(reach, rule.below_age)
    gap_end = [r.from_age for r in rules if r.from_age > reach]
    upto = f" to below {min(gap_end):g}" if gap_end else " upward"
    out.add(
        "S018",
        where,
        f"no respondent for ages from {reach:g}{upto}",
        "extend a rule so every age has a respondent (omit below_age on the last one)",
    )


def _by_respondent(rules: list[AgeRule]) -> list[list[AgeRule]]:
    groups: dict[str, list[AgeRule]] = {}
    for rule in rules:
        groups.setdefault(rule.respondent, []).append(rule)
    return list(groups.values())
