"""Items built in code for widget tests: one per answer type, wording made up for the tests."""

from __future__ import annotations

from epro.forms.model import Item, ItemType, Option


def text(en: str, nl: str) -> dict[str, str]:
    return {"en": en, "nl": nl}


VAS = Item(
    link_id="vas_pain",
    type=ItemType.VAS,
    text=text("How much pain did you have this week?", "Hoeveel pijn had je deze week?"),
    min=0,
    max=100,
    anchor_low=text("no pain", "geen pijn"),
    anchor_high=text("worst pain", "ergste pijn"),
)

CIRCLES = Item(
    link_id="jamar_pain",
    type=ItemType.CIRCLES21,
    text=text("How much pain this week?", "Hoeveel pijn deze week?"),
    min=0,
    max=10,
    step=0.5,
    anchor_low=text("no pain", "geen pijn"),
    anchor_high=text("very much pain", "heel veel pijn"),
)

CHOICE = Item(
    link_id="chaq_walk_a",
    type=ItemType.CHOICE,
    text=text("Walk outdoors on flat ground?", "Buiten op vlakke grond lopen?"),
    group="walk",
    na_option=True,
    na_text=text("Not applicable", "Niet van toepassing"),
    options=(
        Option(0, text("Without any difficulty", "Zonder enige moeite")),
        Option(1, text("With some difficulty", "Met enige moeite")),
        Option(2, text("With much difficulty", "Met veel moeite")),
        Option(3, text("Unable to do", "Kan ik niet")),
    ),
)

CHECKLIST = Item(
    link_id="chaq_devices",
    type=ItemType.CHECKLIST,
    text=text("Which aids do you usually use?", "Welke hulpmiddelen gebruik je meestal?"),
    required=False,
    options=(
        Option("walking_aid", text("Cane, walker or crutches", "Stok, rollator of krukken")),
        Option("wheelchair", text("Wheelchair", "Rolstoel")),
        Option("jar_opener", text("Jar opener", "Potopener")),
    ),
)

BOOLEAN = Item(
    link_id="jamar_stiffness",
    type=ItemType.BOOLEAN,
    text=text("Stiff in the morning?", "Stijf in de ochtend?"),
)

INTEGER = Item(
    link_id="active_joints",
    type=ItemType.INTEGER,
    text=text("Number of active joints", "Aantal actieve gewrichten"),
    min=0,
    max=71,
)

DECIMAL = Item(
    link_id="crp",
    type=ItemType.DECIMAL,
    text=text("CRP (mg/L)", "CRP (mg/L)"),
    min=0,
    max=500,
)
