"""The runtime questionnaire model: what a validated form file becomes.

These frozen objects are the contract between the form loader (``epro.forms``) and everything
that uses forms: scoring, the session service, the kiosk, the server and exports. Nothing here
does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

#: Missing-value codes (instruments.md §2). Never a bare null in stored answers.
NA: Final = "na"
SKIPPED: Final = "skipped"

#: A stored answer: an option code (int or str), a number, a boolean, a list of codes for a
#: checklist, a text, an ISO date, or one of the codes ``"na"`` / ``"skipped"``.
AnswerValue = int | float | str | bool | list[str]

#: Texts keyed by language code ("en", "nl").
LocalText = Mapping[str, str]


class ItemType(StrEnum):
    DISPLAY = "display"
    CHOICE = "choice"
    CHECKLIST = "checklist"
    BOOLEAN = "boolean"
    INTEGER = "integer"
    DECIMAL = "decimal"
    VAS = "vas"
    CIRCLES21 = "circles21"
    DATE = "date"
    TEXT = "text"


class Respondent(StrEnum):
    PARENT = "parent"
    CHILD = "child"
    STAFF = "staff"


class FormKind(StrEnum):
    PATIENT = "patient"  # shown at the kiosk to a child or parent
    STAFF = "staff"  # entered by study staff, never shown to patients


@dataclass(frozen=True, slots=True)
class Option:
    """One coded answer of a choice or checklist item."""

    code: int | str
    text: LocalText


@dataclass(frozen=True, slots=True)
class Condition:
    """One ``enable_when`` clause; ``operator`` is ``equals``, ``not_equals`` or ``exists``."""

    question: str
    operator: str
    answer: AnswerValue | None = None


@dataclass(frozen=True, slots=True)
class EnableWhen:
    conditions: tuple[Condition, ...]
    behavior: str = "all"  # "all" or "any"


@dataclass(frozen=True, slots=True)
class Group:
    """A set of items shown together (a CHAQ domain)."""

    id: str
    text: LocalText


@dataclass(frozen=True, slots=True)
class Item:
    link_id: str
    type: ItemType
    text: LocalText
    #: Wording per respondent variant (JAMAR parent/child): respondent -> language -> text.
    variants: Mapping[str, LocalText] = field(default_factory=dict)
    group: str | None = None
    required: bool = True
    allow_skip: bool = True
    na_option: bool = False
    na_text: LocalText = field(default_factory=dict)
    options: tuple[Option, ...] = ()
    min: float | None = None
    max: float | None = None
    step: float | None = None
    #: Text anchors at the two ends of a VAS or circles scale.
    anchor_low: LocalText = field(default_factory=dict)
    anchor_high: LocalText = field(default_factory=dict)
    help: LocalText = field(default_factory=dict)
    enable_when: EnableWhen | None = None

    def text_for(self, language: str, respondent: str | None = None) -> str:
        """The wording for this respondent and language (variant first, then the plain text)."""
        if respondent is not None and respondent in self.variants:
            variant = self.variants[respondent]
            if language in variant:
                return variant[language]
        return self.text[language]

    #: The option codes in order (set once: validation and every export reads them per answer).
    codes: tuple[int | str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "codes", tuple(option.code for option in self.options))


@dataclass(frozen=True, slots=True)
class Translation:
    language: str
    validated: bool


@dataclass(frozen=True, slots=True)
class Form:
    id: str
    version: str
    title: LocalText
    kind: FormKind
    languages: tuple[str, ...]
    translations: tuple[Translation, ...]
    respondents: tuple[Respondent, ...]
    scoring_algorithm: str | None
    scoring_version: str | None
    groups: tuple[Group, ...]
    items: tuple[Item, ...]
    #: SHA-256 (hex) of the exact bytes of the form file; recorded with every response.
    sha256: str
    intro: LocalText = field(default_factory=dict)
    source: str = "<memory>"

    def item(self, link_id: str) -> Item:
        for item in self.items:
            if item.link_id == link_id:
                return item
        raise KeyError(link_id)

    @property
    def link_ids(self) -> tuple[str, ...]:
        return tuple(item.link_id for item in self.items)

    @property
    def answerable_items(self) -> tuple[Item, ...]:
        return tuple(item for item in self.items if item.type is not ItemType.DISPLAY)
