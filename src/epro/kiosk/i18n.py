"""Chrome texts of the kiosk (buttons, titles, dialogs) in English and Dutch.

Instrument wording comes from the form files (``item.text_for``); only the kiosk's own words
live here. A missing Dutch text falls back to English so a gap never crashes a session.
Texts that speak to the respondent go through :func:`tr_to`: Dutch addresses a parent with
"u" and a child with "je", so those texts have a parent's version as well.
"""

from __future__ import annotations

from typing import Final

LANGUAGES: Final = ("en", "nl")

_EN: Final[dict[str, str]] = {
    "app_title": "epro kiosk",
    "locked_title": "This kiosk is locked",
    "locked_body": "Please ask the nurse to start your questionnaire.",
    "passphrase": "Site passphrase",
    "unlock": "Unlock",
    "unlocking": "Unlocking…",
    "demo_hint": "Demo mode: passphrase '{passphrase}', nurse '{nurse}', PIN '{pin}'.",
    "wrong_passphrase": "That passphrase did not unlock the kiosk. Check it and try again.",
    "pin_title": "Staff PIN",
    "staff_name": "Your name",
    "pin": "PIN",
    "ok": "OK",
    "cancel": "Cancel",
    "wrong_pin": "Name or PIN not recognised. Try again.",
    "pin_locked": "This PIN is locked after too many tries. Ask another staff member.",
    "back": "Back",
    "next": "Next",
    "skip": "Skip",
    "na": "Not applicable",
    "confirm": "Confirm",
    "progress": "Question {done} of {total}",
    "skip_title": "Skip this question?",
    "skip_body": "You can skip it, or go back and answer. Skipped questions are saved as skipped.",
    "skip_yes": "Yes, skip it",
    "skip_no": "No, go back",
    "vas_hint": "Press ← → (Home and End for the ends) or click the line, then Enter twice.",
    "circles_hint": "Choose a number with ← → and Enter (or click it), then Enter to go on.",
    "choice_hint": "Press the number of an answer (or ↑ ↓ and Enter), then Enter to go on.",
    "checklist_hint": "Tick what applies with ↑ ↓ and Space (or click), then Enter to go on.",
    "number_hint": "Type a number, then press Enter.",
    "number_range": "Please type a number from {low} to {high}.",
    "yes": "Yes",
    "no": "No",
    "review_title": "Please check your answers",
    "review_missing": "not answered",
    "review_skipped": "skipped",
    "review_na": "not applicable",
    "review_change": "Use ↑ ↓ and Enter to change an answer; then Submit.",
    "submit": "Submit",
    "submit_blocked": "Some required questions are not answered yet.",
    "thanks_title": "Thank you!",
    "thanks_body": "Your answers have been saved.",
    "next_form": "Next questionnaire",
    "give_back_title": "All done",
    "give_back_body": "Please give the kiosk back to the nurse.",
    "done": "Done",
    "idle_title": "Are you still there?",
    "idle_body": "The kiosk will lock soon. Touch any key to continue.",
    "continue": "Continue",
    "too_small": (
        "This terminal is too small for the kiosk ({width}×{height}).\n"
        "Make the window at least {min_width}×{min_height}."
    ),
    "error_patient": "Something went wrong. Your answers so far are safe. Please ask the nurse.",
    "error_title": "Something went wrong",
    "station_title": "Nurse station",
    "today": "Patients with an open visit today",
    "completion": "Completion",
    "enrol": "Enrol patient",
    "start": "Start questionnaires",
    "resume": "Resume paused",
    "lock": "Lock",
    "outbox": "Waiting to send: {count}",
    "trends": "Trends",
    "study_code": "Study code",
    "birth_ym": "Birth month (YYYY-MM)",
    "baseline": "Baseline date (YYYY-MM-DD)",
    "respondent": "Who answers",
    "language": "Language",
    "form": "Form",
    "visit": "Visit",
    "no_patients": "No patient has an open visit today.",
    "no_drafts": "This patient has no paused questionnaire.",
    "choose_patient": "Choose a patient first.",
    "legend": "Legend",
    "status_due": "due",
    "status_upcoming": "upcoming",
    "status_in_progress": "in progress",
    "status_submitted": "submitted",
    "status_synced": "synced",
    "status_overdue": "overdue",
    "status_missed": "missed",
    "status_done": "done",
    "parent": "parent",
    "child": "child",
    "staff": "staff",
    "grid": "Completion grid",
    "grid_title": "Completion of all patients and visits",
    "all_visits": "All visits",
    "all_statuses": "All statuses",
    "grid_empty": "No questionnaire matches these filters.",
    "sync_now": "Sync now",
    "syncing": "Syncing with the study server…",
    "sync_done": "Sync finished: {sent} sent, {waiting} waiting.",
    "sync_failed": "Sync did not finish: {error}",
    "sync_offline": "Not connected to a study server (offline kiosk).",
    "sync_never": "never",
    "sync_last_success": "Last successful sync: {when}",
    "sync_no_error": "No sync problems.",
    "sync_last_error": "Last sync problem: {error}",
    "sync_revoked": (
        "The study server no longer accepts this kiosk. Do not reset or wipe it: every "
        "response is still on it. Ask the data manager to reinstate it, then sync again."
    ),
    "sync_chain_flagged": (
        "The study server found that this kiosk's audit log does not continue the one it "
        "received before (the kiosk file may have been restored from an older copy or "
        "altered): {problem}. Nothing is deleted from this kiosk until the data manager has "
        "checked it; responses are still sent. Do not reset or wipe it; call the data manager."
    ),
    "sync_skew": (
        "This kiosk's clock is about {minutes} min off the server's: ask IT to set the time."
    ),
    "columns_hint": "VAS-P pain · VAS-W well-being · CLIN clinician data",
    "patient_header": "Patient",
    "short_child": "C",
    "short_parent": "P",
    "short_staff": "S",
    "na_replace_title": "Change your answer?",
    "na_replace_body": 'Your answer now is "{answer}". Replace it with "{na}"?',
    "na_replace_yes": "Yes, replace it",
    "na_replace_no": "No, keep my answer",
    "na_chosen": 'Your answer: "{na}". Press Next to go on.',
    "number_whole_range": "Please type a whole number from {low} to {high}.",
    "number_not_whole": '"{typed}" is not a whole number.',
    "number_unreadable": '"{typed}" is not a number.',
    "number_thousands": (
        '"{typed}" may hold a thousands separator. Type a thousand as 1000, and decimals '
        "with one or two digits after the comma or point, e.g. 2,5."
    ),
    "who": "Patient {patient} · visit {visit} · respondent: {respondent}",
    "clinician_title": "Enter clinician data?",
    "clinician_check": "Check the study code and the visit before you start.",
    "resume_title": "Resume this paused questionnaire?",
    "resume_form": "Form: {form}",
    "resume_then": "Then: {forms}",
    "resume_then_none": "No other questionnaire follows.",
    "resume_yes": "Resume",
    "missing_answer": "This question has no answer yet. Give an answer to go on.",
    "review_needed": "an answer is needed",
    "thanks_next": "Next: {title} (questionnaire {n} of {total}).",
    "thanks_last": "That was the last questionnaire.",
    "form_of": "{title} · questionnaire {n} of {total}",
    "ask_nurse": "Only the nurse can close the kiosk. Please ask the nurse.",
    "quit_hint": "Press Ctrl+Q to close the kiosk.",
    "start_for": "Start for {patient}, visit {visit}",
    "forms_for": "Questionnaires for the {respondent}",
    "staff_language": "Language",
    "language_changed": "The station now speaks English.",
    "enrol_code_bad": (
        "The study code must be 3 to 20 letters, digits or dashes, such as DEMO-005 (never a name)."
    ),
    "enrol_birth_bad": "The birth month must look like 2017-04 (year, then month).",
    "enrol_baseline_bad": "The baseline date must look like 2026-03-10 (year, month, day).",
    "enrol_age_bad": (
        "At the baseline date the patient is {age} years old, and the study takes ages 4–18. Check "
        "both dates."
    ),
    "enrol_taken": "The study code {code} is already enrolled. Choose another code.",
    "detail_title": "Patient {patient}",
    "trend_vas_pain": "Pain (VAS)",
    "trend_vas_wellbeing": "Well-being (VAS)",
    "trend_chaq_di": "Everyday function (CHAQ)",
    "trend_cjadas10": "Disease activity (cJADAS-10)",
    "trend_points": "{count} visits",
    "foot_start": "Start",
    "foot_resume": "Resume",
    "foot_enrol": "Enrol",
    "foot_detail": "Detail",
    "foot_clinician": "Clinician",
    "foot_grid": "Grid",
    "foot_sync": "Sync",
    "foot_lock": "Lock",
    "foot_language": "Nederlands",
    "foot_back": "Back",
    "foot_visit_filter": "Visit filter",
    "foot_status_filter": "Status filter",
}

_NL: Final[dict[str, str]] = {
    "app_title": "epro-kiosk",
    "locked_title": "Deze kiosk is vergrendeld",
    "locked_body": "Vraag de verpleegkundige om de vragenlijst te starten.",
    "passphrase": "Wachtzin van de locatie",
    "unlock": "Ontgrendelen",
    "unlocking": "Bezig met ontgrendelen…",
    "demo_hint": "Demomodus: wachtzin '{passphrase}', verpleegkundige '{nurse}', pincode '{pin}'.",
    "wrong_passphrase": "Met deze wachtzin gaat de kiosk niet open. "
    "Controleer hem en probeer opnieuw.",
    "pin_title": "Pincode medewerker",
    "staff_name": "Naam",
    "pin": "Pincode",
    "ok": "OK",
    "cancel": "Annuleren",
    "wrong_pin": "Naam of pincode niet herkend. Probeer opnieuw.",
    "pin_locked": "Deze pincode is geblokkeerd na te veel pogingen. Vraag een collega.",
    "back": "Terug",
    "next": "Volgende",
    "skip": "Overslaan",
    "na": "Niet van toepassing",
    "confirm": "Bevestigen",
    "progress": "Vraag {done} van {total}",
    "skip_title": "Deze vraag overslaan?",
    "skip_yes": "Ja, overslaan",
    "skip_no": "Nee, terug",
    "vas_hint": (
        "Druk op ← → (Home en End voor de uiteinden) of klik op de lijn, dan twee keer Enter."
    ),
    "circles_hint": (
        "Kies een getal met ← → en Enter (of klik erop), daarna Enter om verder te gaan."
    ),
    "choice_hint": (
        "Druk op het nummer van een antwoord (of ↑ ↓ en Enter), daarna Enter om verder te gaan."
    ),
    "checklist_hint": (
        "Vink aan wat klopt met ↑ ↓ en spatie (of klik), daarna Enter om verder te gaan."
    ),
    "number_hint": "Typ een getal en druk daarna op Enter.",
    "number_range": "Typ een getal van {low} tot en met {high}.",
    "yes": "Ja",
    "no": "Nee",
    "review_title": "Controleer je antwoorden",
    "review_missing": "niet beantwoord",
    "review_skipped": "overgeslagen",
    "review_na": "niet van toepassing",
    "review_change": "Met ↑ ↓ en Enter verander je een antwoord; daarna Versturen.",
    "submit": "Versturen",
    "submit_blocked": "Een paar verplichte vragen zijn nog niet beantwoord.",
    "thanks_title": "Dank je wel!",
    "thanks_body": "Je antwoorden zijn bewaard.",
    "next_form": "Volgende vragenlijst",
    "give_back_title": "Klaar",
    "give_back_body": "Geef de kiosk terug aan de verpleegkundige.",
    "done": "Klaar",
    "idle_title": "Ben je er nog?",
    "idle_body": "De kiosk gaat zo op slot. Druk op een toets om verder te gaan.",
    "continue": "Verder",
    "too_small": (
        "Dit venster is te klein voor de kiosk ({width}×{height}).\n"
        "Maak het minstens {min_width}×{min_height}."
    ),
    "error_patient": (
        "Er ging iets mis. De antwoorden tot nu toe zijn veilig. Vraag de verpleegkundige."
    ),
    "error_title": "Er ging iets mis",
    "station_title": "Verpleegpost",
    "today": "Patiënten met een open bezoek vandaag",
    "completion": "Voortgang",
    "enrol": "Patiënt inschrijven",
    "start": "Vragenlijsten starten",
    "resume": "Verder met onderbroken",
    "lock": "Vergrendelen",
    "outbox": "Wacht op verzenden: {count}",
    "trends": "Verloop",
    "study_code": "Studiecode",
    "birth_ym": "Geboortemaand (JJJJ-MM)",
    "baseline": "Startdatum (JJJJ-MM-DD)",
    "respondent": "Wie vult in",
    "language": "Taal",
    "form": "Vragenlijst",
    "visit": "Bezoek",
    "no_patients": "Geen patiënt heeft vandaag een open bezoek.",
    "no_drafts": "Deze patiënt heeft geen onderbroken vragenlijst.",
    "choose_patient": "Kies eerst een patiënt.",
    "legend": "Legenda",
    "status_due": "te doen",
    "status_upcoming": "komt nog",
    "status_in_progress": "bezig",
    "status_submitted": "verstuurd",
    "status_synced": "op de server",
    "status_overdue": "te laat",
    "status_missed": "gemist",
    "status_done": "klaar",
    "parent": "ouder",
    "child": "kind",
    "staff": "medewerker",
    "grid": "Overzicht",
    "grid_title": "Voortgang van alle patiënten en bezoeken",
    "all_visits": "Alle bezoeken",
    "all_statuses": "Elke status",
    "grid_empty": "Geen vragenlijst past bij deze filters.",
    "sync_now": "Nu versturen",
    "syncing": "Bezig met versturen naar de studieserver…",
    "sync_done": "Versturen klaar: {sent} verstuurd, {waiting} wachtend.",
    "sync_failed": "Versturen is niet gelukt: {error}",
    "sync_offline": "Niet verbonden met een studieserver (offline kiosk).",
    "sync_never": "nog nooit",
    "sync_last_success": "Laatst gelukt: {when}",
    "sync_no_error": "Geen problemen met versturen.",
    "sync_last_error": "Laatste probleem: {error}",
    "sync_revoked": (
        "De studieserver accepteert deze kiosk niet meer. Niet resetten of wissen: alle "
        "antwoorden staan er nog op. Vraag de datamanager de kiosk weer toe te laten en "
        "synchroniseer dan opnieuw."
    ),
    "sync_chain_flagged": (
        "De studieserver ziet dat het auditlogboek van deze kiosk niet aansluit op wat hij "
        "eerder ontving (het kioskbestand is misschien teruggezet van een oudere kopie of "
        "gewijzigd): {problem}. Er wordt niets van deze kiosk verwijderd tot de datamanager "
        "het heeft nagekeken; antwoorden worden wel verstuurd. Niet resetten of wissen; bel "
        "de datamanager."
    ),
    "sync_skew": (
        "De klok van deze kiosk loopt ongeveer {minutes} min af van de server: "
        "vraag ICT de tijd goed te zetten."
    ),
    "columns_hint": "VAS-P pijn · VAS-W welbevinden · KLIN gegevens van de arts",
    "patient_header": "Patiënt",
    "short_child": "K",
    "short_parent": "O",
    "short_staff": "M",
    "na_replace_title": "Je antwoord veranderen?",
    "na_replace_body": 'Je antwoord is nu "{answer}". Wil je het vervangen door "{na}"?',
    "na_replace_yes": "Ja, vervangen",
    "na_replace_no": "Nee, mijn antwoord houden",
    "na_chosen": 'Je antwoord: "{na}". Druk op Volgende om verder te gaan.',
    "number_whole_range": "Typ een heel getal van {low} tot en met {high}.",
    "number_not_whole": '"{typed}" is geen heel getal.',
    "number_unreadable": '"{typed}" is geen getal.',
    "number_thousands": (
        '"{typed}" bevat misschien een scheidingsteken voor duizendtallen. Typ duizend als '
        "1000, en decimalen met één of twee cijfers na de komma of punt, bijvoorbeeld 2,5."
    ),
    "who": "Patiënt {patient} · bezoek {visit} · invuller: {respondent}",
    "clinician_title": "Gegevens van de arts invoeren?",
    "clinician_check": "Controleer eerst de studiecode en het bezoek.",
    "resume_title": "Deze onderbroken vragenlijst hervatten?",
    "resume_form": "Vragenlijst: {form}",
    "resume_then": "Daarna: {forms}",
    "resume_then_none": "Daarna volgt geen andere vragenlijst.",
    "resume_yes": "Hervatten",
    "skip_body": (
        "De vraag kan worden overgeslagen; hij wordt dan bewaard als overgeslagen. Of ga terug en "
        "geef een antwoord."
    ),
    "missing_answer": "Deze vraag heeft nog geen antwoord. Geef eerst een antwoord.",
    "review_needed": "een antwoord is nodig",
    "thanks_next": "Hierna: {title} (vragenlijst {n} van {total}).",
    "thanks_last": "Dat was de laatste vragenlijst.",
    "form_of": "{title} · vragenlijst {n} van {total}",
    "ask_nurse": "Alleen de verpleegkundige kan de kiosk sluiten. Vraag het de verpleegkundige.",
    "quit_hint": "Druk op Ctrl+Q om de kiosk te sluiten.",
    "start_for": "Starten voor {patient}, bezoek {visit}",
    "forms_for": "Vragenlijsten voor {respondent}",
    "staff_language": "Taal",
    "language_changed": "De verpleegpost spreekt nu Nederlands.",
    "enrol_code_bad": (
        "De studiecode moet 3 tot 20 letters, cijfers of streepjes zijn, zoals DEMO-005 (nooit een "
        "naam)."
    ),
    "enrol_birth_bad": "De geboortemaand moet eruitzien als 2017-04 (jaar, dan maand).",
    "enrol_baseline_bad": "De startdatum moet eruitzien als 2026-03-10 (jaar, maand, dag).",
    "enrol_age_bad": (
        "Op de startdatum is de patiënt {age} jaar, en de studie neemt 4–18 jaar. Controleer beide "
        "data."
    ),
    "enrol_taken": "De studiecode {code} is al ingeschreven. Kies een andere code.",
    "detail_title": "Patiënt {patient}",
    "trend_vas_pain": "Pijn (VAS)",
    "trend_vas_wellbeing": "Welbevinden (VAS)",
    "trend_chaq_di": "Dagelijks functioneren (CHAQ)",
    "trend_cjadas10": "Ziekteactiviteit (cJADAS-10)",
    "trend_points": "{count} bezoeken",
    "foot_start": "Starten",
    "foot_resume": "Hervatten",
    "foot_enrol": "Inschrijven",
    "foot_detail": "Details",
    "foot_clinician": "Arts",
    "foot_grid": "Overzicht",
    "foot_sync": "Versturen",
    "foot_lock": "Slot",
    "foot_language": "English",
    "foot_back": "Terug",
    "foot_visit_filter": "Bezoek kiezen",
    "foot_status_filter": "Status kiezen",
}

#: Dutch texts for a parent, who is addressed with "u" (the texts above say "je", for a child).
_NL_PARENT: Final[dict[str, str]] = {
    "review_title": "Controleer uw antwoorden",
    "review_change": "Met ↑ ↓ en Enter verandert u een antwoord; daarna Versturen.",
    "thanks_title": "Dank u wel!",
    "thanks_body": "Uw antwoorden zijn bewaard.",
    "idle_title": "Bent u er nog?",
    "na_replace_title": "Uw antwoord veranderen?",
    "na_replace_body": 'Uw antwoord is nu "{answer}". Wilt u het vervangen door "{na}"?',
    "na_chosen": 'Uw antwoord: "{na}". Drukt u op Volgende om verder te gaan.',
}

_TEXTS: Final = {"en": _EN, "nl": _NL}
_TO_PARENT: Final = {"nl": _NL_PARENT}


def tr(language: str, key: str, **values: object) -> str:
    """The chrome text ``key`` in ``language`` (English when missing), formatted with values."""
    table = _TEXTS.get(language, _EN)
    text = table.get(key) or _EN[key]
    return text.format(**values) if values else text


def tr_to(language: str, respondent: str, key: str, **values: object) -> str:
    """Like :func:`tr`, for a text that speaks to ``respondent`` (a parent's own version first)."""
    if respondent == "parent":
        text = _TO_PARENT.get(language, {}).get(key)
        if text is not None:
            return text.format(**values) if values else text
    return tr(language, key, **values)


def who(language: str, patient: str, visit: str, respondent: str) -> str:
    """The line naming whose session it is: study code, visit and respondent."""
    return tr(language, "who", patient=patient, visit=visit, respondent=tr(language, respondent))


def number(language: str, value: float, places: int | None = None) -> str:
    """A number as the language writes it: a decimal comma in Dutch ("4,5"), a point in English.

    ``places`` fixes the digits after the separator; without it a whole number has none and a
    fraction keeps only the digits it needs.
    """
    if places is not None:
        text = f"{value:.{places}f}"
    elif float(value).is_integer():
        text = str(int(value))
    else:
        text = f"{value:g}"
    return text.replace(".", ",") if language == "nl" else text


def known(key: str) -> bool:
    """Whether ``key`` is one of the kiosk's texts."""
    return key in _EN
