"""A readable plain-text outline of a form, for ``epro forms show`` and for reviewers."""

from __future__ import annotations

from epro.forms.model import Form, Item, ItemType, LocalText


def outline(form: Form, language: str = "en", respondent: str | None = None) -> str:
    """Groups, items, types, options, scales and conditions, one item per block."""

    def say(texts: LocalText) -> str:
        return _say(texts, language)

    lines = [
        f"{form.id} {form.version} — {say(form.title)}",
        f"kind: {form.kind}; respondents: {', '.join(form.respondents)}; "
        f"languages: {', '.join(form.languages)}",
        f"scoring: {form.scoring_algorithm} {form.scoring_version}; sha256: {form.sha256}",
    ]
    unvalidated = [t.language for t in form.translations if not t.validated]
    if unvalidated:
        lines.append(f"unvalidated translations: {', '.join(unvalidated)}")
    if form.intro:
        lines.append(say(form.intro))
    groups = {group.id: group for group in form.groups}
    current: str | None = None
    for item in form.items:
        if item.group != current:
            current = item.group
            if current is not None:
                lines.append("")
                lines.append(f"[{current}] {say(groups[current].text)}")
        indent = "  " if item.group is not None else ""
        lines.append("")
        lines.extend(indent + line for line in _item(item, language, respondent))
    return "\n".join(lines) + "\n"


def _say(texts: LocalText, language: str) -> str:
    """The text in ``language``, else in the first language it has."""
    return texts.get(language) or next(iter(texts.values()), "")


def _item(item: Item, language: str, respondent: str | None) -> list[str]:
    def say(texts: LocalText) -> str:
        return _say(texts, language)

    flags = []
    if not item.required and item.type is not ItemType.DISPLAY:
        flags.append("optional")
    if item.allow_skip and item.type is not ItemType.DISPLAY:
        flags.append("may skip")
    extra = f" ({', '.join(flags)})" if flags else ""
    wording = item.variants.get(respondent, item.text) if respondent else item.text
    lines = [f"{item.link_id}  {item.type}{extra}", f"  {say(wording)}"]
    for option in item.options:
        lines.append(f"    {option.code!s:>20}  {say(option.text)}")
    if item.na_option:
        lines.append(f"    {'na':>20}  {say(item.na_text)}")
    if item.min is not None and item.max is not None:
        step = f" step {_num(item.step)}" if item.step is not None else ""
        lines.append(f"  scale {_num(item.min)}–{_num(item.max)}{step}")
    if item.anchor_low or item.anchor_high:
        lines.append(f"  anchors: {say(item.anchor_low)!r} … {say(item.anchor_high)!r}")
    if item.enable_when is not None:
        parts = [
            f"{c.question} {c.operator}" + ("" if c.operator == "exists" else f" {c.answer!r}")
            for c in item.enable_when.conditions
        ]
        lines.append(f"  shown when ({item.enable_when.behavior}): " + "; ".join(parts))
    return lines


def _num(value: float | None) -> str:
    if value is None:
        return "?"
    return str(int(value)) if float(value).is_integer() else str(value)
