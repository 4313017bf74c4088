"""Items of a form file: checked one by one and turned into model objects."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from epro.forms._reader import NAME, Reader
from epro.forms.conditions import parse_enable_when
from epro.forms.errors import did_you_mean
from epro.forms.model import FormKind, Group, Item, ItemType, Option
from epro.forms.options import DEFAULT_KEYS, OptionSet, parse_options

COMMON_KEYS = frozenset(
    {"link_id", "type", "text", "variants", "group", "required", "allow_skip", "help"}
    | {"enable_when"}
)
#: Keys each type accepts beyond the common ones.
TYPE_KEYS: dict[ItemType, frozenset[str]] = {
    ItemType.DISPLAY: frozenset(),
    ItemType.CHOICE: frozenset({"options", "na_option", "na_text"}),
    ItemType.CHECKLIST: frozenset({"options"}),
    ItemType.BOOLEAN: frozenset(),
    ItemType.INTEGER: frozenset({"min", "max", "step"}),
    ItemType.DECIMAL: frozenset({"min", "max", "step"}),
    ItemType.VAS: frozenset({"min", "max", "anchor_low", "anchor_high"}),
    ItemType.CIRCLES21: frozenset({"min", "max", "step", "anchor_low", "anchor_high"}),
    ItemType.DATE: frozenset(),
    ItemType.TEXT: frozenset({"allow_text"}),
}
ALL_ITEM_KEYS = COMMON_KEYS.union(*TYPE_KEYS.values())
#: Fixed scales: (min, max, step) and the catalogue code for a deviation.
FIXED_SCALES = {ItemType.VAS: (0, 100, None, "F031"), ItemType.CIRCLES21: (0, 10, 0.5, "F032")}


@dataclass
class FormContext:
    kind: FormKind | None
    respondents: tuple[str, ...]
    groups: Mapping[str, Group]
    option_sets: Mapping[str, OptionSet]
    all_ids: list[str] = field(default_factory=list)


def parse_items(reader: Reader, raw: object, context: FormContext) -> list[Item]:
    """Every ``[[items]]`` table in order; problems are recorded, broken items left out."""
    if not isinstance(raw, list) or not all(isinstance(entry, dict) for entry in raw):
        reader.add("F004", "'items' must be a list of [[items]] tables")
        return []
    if not raw:
        reader.add("F041", "the form has no items")
        return []
    context.all_ids = [entry["link_id"] for entry in raw if isinstance(entry.get("link_id"), str)]
    earlier: dict[str, Item | None] = {}
    items: list[Item] = []
    for index, entry in enumerate(raw, start=1):
        item = _parse_item(reader, entry, index, context, earlier)
        if item is not None:
            items.append(item)
    _check_groups(reader, items, context, {str(entry.get("group")) for entry in raw})
    return items


def _parse_item(
    reader: Reader,
    raw: Mapping[str, Any],
    index: int,
    context: FormContext,
    earlier: dict[str, Item | None],
) -> Item | None:
    before = len(reader.problems)
    link_id = raw.get("link_id")
    label = link_id if isinstance(link_id, str) and link_id else f"#{index}"
    if "link_id" not in raw:
        reader.add("F017", f"item number {index} has no link_id", item=label)
    elif not isinstance(link_id, str) or not NAME.match(link_id):
        reader.add("F018", f"link_id {link_id!r} is not a valid variable name", item=label)
    elif link_id in earlier:
        reader.add("F019", f"link_id '{link_id}' is already used by an earlier item", item=label)
    item_type = _item_type(reader, raw, label)
    _check_keys(reader, raw, item_type, label)
    if item_type is None:
        _remember(earlier, link_id, None)
        return None
    text = reader.text(raw["text"], "text", label) if "text" in raw else {}
    variants = _variants(reader, raw, label, context)
    if "text" not in raw and variants:
        text = dict(variants[context.respondents[0]]) if context.respondents[0] in variants else {}
    elif "text" not in raw:
        reader.add("F043", "the item has no 'text'", item=label)
    group = raw.get("group")
    if group is not None and not isinstance(group, str):
        reader.add("F004", "'group' must be the id of a [[groups]] entry", item=label)
        group = None
    elif group is not None and group not in context.groups:
        reader.add(
            "F034",
            f"group '{group}' is not defined in [[groups]]",
            item=label,
            suggestion=did_you_mean(str(group), context.groups),
        )
    is_display = item_type is ItemType.DISPLAY
    required = reader.boolean(raw, "required", not is_display, label)
    allow_skip = reader.boolean(raw, "allow_skip", not is_display, label)
    options, na_option, na_text = _choices(reader, raw, item_type, label, context)
    low, high, step = _scale(reader, raw, item_type, label)
    anchors = _anchors(reader, raw, item_type, label)
    if item_type is ItemType.TEXT and context.kind is FormKind.PATIENT:
        escape = reader.boolean(raw, "allow_text", False, label)
        if not (escape and not required):
            reader.add("F033", "a text item in a patient form", item=label)
    help_text = reader.text(raw["help"], "help", label) if "help" in raw else {}
    enable_when = None
    if "enable_when" in raw and isinstance(link_id, str):
        enable_when = parse_enable_when(
            reader, raw["enable_when"], link_id, earlier, context.all_ids
        )
    if len(reader.problems) > before and any(
        p.severity == "error" for p in reader.problems[before:]
    ):
        _remember(earlier, link_id, None)
        return None
    assert isinstance(link_id, str)
    item = Item(
        link_id=link_id,
        type=item_type,
        text=text,
        variants=variants,
        group=group,
        required=required,
        allow_skip=allow_skip,
        na_option=na_option,
        na_text=na_text,
        options=options,
        min=low,
        max=high,
        step=step,
        anchor_low=anchors[0],
        anchor_high=anchors[1],
        help=help_text,
        enable_when=enable_when,
    )
    earlier[link_id] = item
    return item


def _remember(earlier: dict[str, Item | None], link_id: object, item: Item | None) -> None:
    if isinstance(link_id, str) and link_id not in earlier:
        earlier[link_id] = item


def _item_type(reader: Reader, raw: Mapping[str, Any], label: str) -> ItemType | None:
    if "type" not in raw:
        reader.add("F002", "the item has no 'type'", item=label)
        return None
    value = raw["type"]
    try:
        return ItemType(value)
    except ValueError:
        reader.add(
            "F020",
            f"item type {value!r} is unknown",
            item=label,
            suggestion=did_you_mean(str(value), [t.value for t in ItemType]),
        )
        return None


def _check_keys(
    reader: Reader, raw: Mapping[str, Any], item_type: ItemType | None, label: str
) -> None:
    allowed = ALL_ITEM_KEYS if item_type is None else COMMON_KEYS | TYPE_KEYS[item_type]
    for key in raw:
        if key in DEFAULT_KEYS:
            reader.add("F023", f"the item has '{key}'", item=label)
        elif key not in ALL_ITEM_KEYS:
            reader.add(
                "F016",
                f"unknown key '{key}'",
                item=label,
                suggestion=did_you_mean(key, ALL_ITEM_KEYS),
            )
        elif key not in allowed:
            reader.add("F037", f"'{key}' does not apply to a {item_type} item", item=label)


def _variants(
    reader: Reader, raw: Mapping[str, Any], label: str, context: FormContext
) -> dict[str, dict[str, str]]:
    if "variants" not in raw:
        return {}
    table = raw["variants"]
    if not isinstance(table, dict):
        reader.add("F004", "'variants' must be a table: respondent -> texts", item=label)
        return {}
    variants: dict[str, dict[str, str]] = {}
    for respondent, texts in table.items():
        if respondent not in context.respondents:
            reader.add(
                "F040",
                f"variant '{respondent}' is not a respondent of this form",
                item=label,
                suggestion=did_you_mean(respondent, context.respondents),
            )
            continue
        variants[respondent] = reader.text(texts, f"variants.{respondent}", label)
    for respondent in context.respondents:
        if respondent not in table:
            reader.add("F040", f"there is no variant for respondent '{respondent}'", item=label)
    return variants


def _choices(
    reader: Reader, raw: Mapping[str, Any], item_type: ItemType, label: str, context: FormContext
) -> tuple[tuple[Option, ...], bool, dict[str, str]]:
    if item_type not in (ItemType.CHOICE, ItemType.CHECKLIST):
        return (), False, {}
    names_only = item_type is ItemType.CHECKLIST
    source = raw.get("options")
    shared: OptionSet | None = None
    if source is None:
        reader.add("F021", "the item has no 'options'", item=label)
        options: tuple[Option, ...] = ()
    elif isinstance(source, str):
        shared = context.option_sets.get(source)
        if shared is None:
            reader.add(
                "F039",
                f"option set '{source}' is not defined",
                item=label,
                suggestion=did_you_mean(source, context.option_sets),
            )
            return (), False, {}
        shared.used = True
        options = shared.options
        if names_only and any(not isinstance(o.code, str) for o in options):
            reader.add(
                "F042",
                f"option set '{source}' has number codes; a checklist needs names",
                item=label,
            )
    else:
        options = parse_options(reader, source, label, names_only=names_only)
    # Counted as written, so a duplicated code is not also reported as a missing option.
    count = len(source) if isinstance(source, list) else len(options)
    if source is not None and count < 2:
        reader.add("F021", f"the item has {count} option(s)", item=label)
    na_option = reader.boolean(raw, "na_option", False, label)
    if "na_text" in raw:
        na_text = reader.text(raw["na_text"], "na_text", label)
    else:
        na_text = dict(shared.na_text) if shared is not None else {}
    if na_option and not na_text:
        reader.add("F036", "na_option = true but there is no na_text", item=label)
    if "na_text" in raw and not na_option:
        reader.add("W103", "na_text is given but na_option is not set", item=label)
    return options, na_option, na_text


def _scale(
    reader: Reader, raw: Mapping[str, Any], item_type: ItemType, label: str
) -> tuple[float | None, float | None, float | None]:
    low = reader.number(raw, "min", label)
    high = reader.number(raw, "max", label)
    step = reader.number(raw, "step", label)
    if item_type in FIXED_SCALES:
        fixed_low, fixed_high, fixed_step, code = FIXED_SCALES[item_type]
        given = (low, high, step if item_type is ItemType.CIRCLES21 else None)
        if any(
            g is not None and g != f
            for g, f in zip(given, (fixed_low, fixed_high, fixed_step), strict=True)
        ):
            reader.add(code, f"the {item_type} scale is changed", item=label)
        return fixed_low, fixed_high, fixed_step
    if item_type not in (ItemType.INTEGER, ItemType.DECIMAL):
        return None, None, None
    if low is None or high is None:
        if "min" not in raw or "max" not in raw:
            reader.add("F030", f"a {item_type} item needs both min and max", item=label)
        return low, high, step
    if item_type is ItemType.INTEGER:
        for key, value in (("min", low), ("max", high), ("step", step)):
            if value is not None and not isinstance(value, int):
                reader.add("F004", f"'{key}' of an integer item must be a whole number", item=label)
    if low >= high:
        reader.add("F028", f"min {low} is not below max {high}", item=label)
    elif step is not None:
        span = Decimal(str(high)) - Decimal(str(low))
        if step <= 0 or span % Decimal(str(step)) != 0:
            reader.add("F029", f"step {step} does not divide the range {low}–{high}", item=label)
    return low, high, step


def _anchors(
    reader: Reader, raw: Mapping[str, Any], item_type: ItemType, label: str
) -> tuple[dict[str, str], dict[str, str]]:
    if item_type not in FIXED_SCALES:
        return {}, {}
    texts = []
    for key in ("anchor_low", "anchor_high"):
        if key in raw:
            texts.append(reader.text(raw[key], key, label))
        else:
            reader.add("F038", f"the scale has no '{key}'", item=label)
            texts.append({})
    return texts[0], texts[1]


def _check_groups(
    reader: Reader, items: Sequence[Item], context: FormContext, named: set[str]
) -> None:
    """Items of a group must be together (the kiosk may show a group on one screen)."""
    closed: set[str] = set()
    current: str | None = None
    for item in items:
        if item.group != current:
            if current is not None:
                closed.add(current)
            if item.group is not None and item.group in closed:
                reader.add(
                    "F046", f"group '{item.group}' is split by other items", item=item.link_id
                )
            current = item.group
    # Judged on what the file names, so an item with its own errors does not empty its group.
    for group in context.groups:
        if group not in named:
            reader.add("W101", f"group '{group}' has no items", item=f"group {group}")
