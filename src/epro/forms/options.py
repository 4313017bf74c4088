"""Answer options of choice and checklist items, and the shared option sets that hold them."""

from __future__ import annotations

from dataclasses import dataclass

from epro.forms._reader import NAME, Reader
from epro.forms.errors import did_you_mean
from epro.forms.model import NA, SKIPPED, Option

#: Spellings of a pre-selected answer; refused by name so the message can say why.
DEFAULT_KEYS = frozenset(
    {"default", "initial", "initial_value", "default_value", "initial_answer", "default_answer"}
    | {"preselected", "selected", "value", "answer"}
)
OPTION_KEYS = ("code", "text")
OPTION_SET_KEYS = ("options", "na_text")


@dataclass
class OptionSet:
    """Options shared by many items (the CHAQ 0–3 scale), with an optional 'not applicable'."""

    options: tuple[Option, ...]
    na_text: dict[str, str]
    used: bool = False


def parse_options(
    reader: Reader, raw: object, item: str | None, *, names_only: bool
) -> tuple[Option, ...]:
    """A list of ``{ code, text }`` tables with distinct, valid codes."""
    if not isinstance(raw, list) or not all(isinstance(entry, dict) for entry in raw):
        reader.add(
            "F004", "'options' must be a list of { code = …, text = { … } } tables", item=item
        )
        return ()
    options: list[Option] = []
    seen: set[int | str] = set()
    for entry in raw:
        for key in entry:
            if key in DEFAULT_KEYS:
                reader.add("F023", f"an option is marked '{key}'", item=item)
            elif key not in OPTION_KEYS:
                reader.add(
                    "F016",
                    f"unknown key '{key}' in an option",
                    item=item,
                    suggestion=did_you_mean(key, OPTION_KEYS),
                )
        code = entry.get("code")
        if not _valid_code(code, names_only=names_only):
            reader.add("F042", f"option code {code!r} is not valid", item=item)
            continue
        assert isinstance(code, int | str)
        if code in seen:
            reader.add("F022", f"option code {code!r} is used twice", item=item)
            continue
        seen.add(code)
        options.append(
            Option(code=code, text=reader.text(entry.get("text"), f"option {code} text", item))
        )
    return tuple(options)


def _valid_code(code: object, *, names_only: bool) -> bool:
    if isinstance(code, str):
        return bool(NAME.match(code)) and code not in (NA, SKIPPED)
    return isinstance(code, int) and not isinstance(code, bool) and not names_only


def parse_option_sets(reader: Reader, raw: object) -> dict[str, OptionSet]:
    if not isinstance(raw, dict):
        reader.add("F004", "'option_sets' must be a table of [option_sets.<name>] tables")
        return {}
    sets: dict[str, OptionSet] = {}
    for name, table in raw.items():
        where = f"option set {name}"
        if not isinstance(table, dict):
            reader.add("F004", f"[option_sets.{name}] must be a table", item=where)
            continue
        reader.unknown_keys(table, OPTION_SET_KEYS, f"[option_sets.{name}]", item=where)
        if "options" not in table:
            reader.add("F002", f"[option_sets.{name}] has no 'options'", item=where)
        options = parse_options(reader, table.get("options", []), where, names_only=False)
        na_text = reader.text(table["na_text"], "na_text", where) if "na_text" in table else {}
        sets[name] = OptionSet(options=options, na_text=na_text)
    return sets
