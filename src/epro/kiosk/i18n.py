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
    "locked_body": "Please ask the study nurse to start your questionnaire.",
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
    "skip": "Skip this question",
    "na": "Not applicable",
    "confirm": "Confirm",
    "progress": "Question {done} of {total}",
    "skip_title": "Skip this question?",
    "skip_body": "You can skip it, or go back and answer. Skipped questions are saved as skipped.",
    "skip_yes": "Yes, skip it",
    "skip_no": "No, go back",
    "vas_hint": "Click on the line, or press ← or →, to place the marker. Then confirm.",
    "circles_hint": "Choose one number: click it, or use ← → and Enter.",
    "choice_hint": "Choose one answer: click it, or use ↑ ↓ and Enter.",
    "checklist_hint": "Tick all that apply: click them, or use ↑ ↓ and Space. Then confirm.",
    "number_hint": "Type a number and press Enter.",
    "number_range": "Please type a number from {low} to {high}.",
    "yes": "Yes",
    "no": "No",
    "review_title": "Please check your answers",
    "review_missing": "not answered",
    "review_skipped": "skipped",
    "review_na": "not applicable",
    "review_change": "Choose an answer to change it.",
    "submit": "Submit",
    "submit_blocked": "Some required questions are not answered yet.",
    "thanks_title": "Thank you!",
    "thanks_body": "Your answers have been saved.",
    "next_form": "Next questionnaire",
    "give_back_title": "All done",
    "give_back_body": "Please give the kiosk back to the study nurse.",
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
    "start": "Start session",
    "resume": "Resume draft",
    "lock": "Lock",
    "outbox": "Waiting to send: {count}",
    "trends": "Trends",
    "study_code": "Study code",
    "birth_ym": "Birth month (YYYY-MM)",
    "baseline": "Baseline date (YYYY-MM-DD)",
    "respondent": "Respondent",
    "language": "Language",
    "form": "Form",
    "visit": "Visit",
    "no_patients": "No patient has an open visit today.",
    "no_drafts": "No draft to resume for this patient.",
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
    "columns_hint": "C child · P parent · S staff   VAS-P pain · VAS-W well-being · CLIN clinician",
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
    "resume_title": "Resume this draft?",
    "resume_form": "Form: {form}",
    "resume_then": "Then: {forms}",
    "resume_then_none": "No other questionnaire follows.",
    "resume_yes": "Resume",
}

_NL: Final[dict[str, str]] = {
    "app_title": "epro-kiosk",
    "locked_title": "Deze kiosk is vergrendeld",
    "locked_body": "Vraag de researchverpleegkundige om je vragenlijst te starten.",
    "passphrase": "Wachtzin van de locatie",
    "unlock": "Ontgrendelen",
    "unlocking": "Bezig met ontgrendelen…",
    "demo_hint": "Demomodus: wachtzin '{passphrase}', verpleegkundige '{nurse}', pincode '{pin}'.",
    "wrong_passphrase": "Met deze wachtzin gaat de kiosk niet open. "
    "Controleer hem en probeer opnieuw.",
    "pin_title": "Pincode medewerker",
    "staff_name": "Je naam",
    "pin": "Pincode",
    "ok": "OK",
    "cancel": "Annuleren",
    "wrong_pin": "Naam of pincode niet herkend. Probeer opnieuw.",
    "pin_locked": "Deze pincode is geblokkeerd na te veel pogingen. Vraag een collega.",
    "back": "Terug",
    "next": "Volgende",
    "skip": "Deze vraag overslaan",
    "na": "Niet van toepassing",
    "confirm": "Bevestigen",
    "progress": "Vraag {done} van {total}",
    "skip_title": "Deze vraag overslaan?",
    "skip_body": "Je kunt de vraag overslaan of teruggaan en antwoorden. "
    "Overgeslagen vragen worden bewaard als overgeslagen.",
    "skip_yes": "Ja, overslaan",
    "skip_no": "Nee, terug",
    "vas_hint": "Klik op de lijn, of druk op ← of →, om het streepje te zetten. Bevestig daarna.",
    "circles_hint": "Kies één getal: klik erop, of gebruik ← → en Enter.",
    "choice_hint": "Kies één antwoord: klik erop, of gebruik ↑ ↓ en Enter.",
    "checklist_hint": "Vink alles aan wat klopt: klik, of gebruik ↑ ↓ en spatie. Bevestig daarna.",
    "number_hint": "Typ een getal en druk op Enter.",
    "number_range": "Typ een getal van {low} tot en met {high}.",
    "yes": "Ja",
    "no": "Nee",
    "review_title": "Controleer je antwoorden",
    "review_missing": "niet beantwoord",
    "review_skipped": "overgeslagen",
    "review_na": "niet van toepassing",
    "review_change": "Kies een antwoord om het te veranderen.",
    "submit": "Versturen",
    "submit_blocked": "Een paar verplichte vragen zijn nog niet beantwoord.",
    "thanks_title": "Dank je wel!",
    "thanks_body": "Je antwoorden zijn bewaard.",
    "next_form": "Volgende vragenlijst",
    "give_back_title": "Klaar",
    "give_back_body": "Geef de kiosk terug aan de researchverpleegkundige.",
    "done": "Klaar",
    "idle_title": "Ben je er nog?",
    "idle_body": "De kiosk gaat zo op slot. Druk op een toets om verder te gaan.",
    "continue": "Verder",
    "too_small": (
        "Dit venster is te klein voor de kiosk ({width}×{height}).\n"
        "Maak het minstens {min_width}×{min_height}."
    ),
    "error_patient": "Er ging iets mis. Je antwoorden zijn veilig. Vraag de verpleegkundige.",
    "error_title": "Er ging iets mis",
    "station_title": "Verpleegpost",
    "today": "Patiënten met een open visite vandaag",
    "completion": "Voortgang",
    "enrol": "Patiënt inschrijven",
    "start": "Sessie starten",
    "resume": "Concept hervatten",
    "lock": "Vergrendelen",
    "outbox": "Wacht op verzenden: {count}",
    "trends": "Verloop",
    "study_code": "Studiecode",
    "birth_ym": "Geboortemaand (JJJJ-MM)",
    "baseline": "Startdatum (JJJJ-MM-DD)",
    "respondent": "Invuller",
    "language": "Taal",
    "form": "Vragenlijst",
    "visit": "Visite",
    "no_patients": "Geen patiënt heeft vandaag een open visite.",
    "no_drafts": "Geen concept om te hervatten voor deze patiënt.",
    "choose_patient": "Kies eerst een patiënt.",
    "legend": "Legenda",
    "status_due": "te doen",
    "status_upcoming": "komt nog",
    "status_in_progress": "bezig",
    "status_submitted": "verstuurd",
    "status_synced": "gesynchroniseerd",
    "status_overdue": "te laat",
    "status_missed": "gemist",
    "status_done": "klaar",
    "parent": "ouder",
    "child": "kind",
    "staff": "medewerker",
    "grid": "Overzicht",
    "grid_title": "Voortgang van alle patiënten en visites",
    "all_visits": "Alle visites",
    "all_statuses": "Alle statussen",
    "grid_empty": "Geen vragenlijst past bij deze filters.",
    "sync_now": "Nu synchroniseren",
    "syncing": "Bezig met synchroniseren met de studieserver…",
    "sync_done": "Synchroniseren klaar: {sent} verstuurd, {waiting} wachtend.",
    "sync_failed": "Synchroniseren is niet gelukt: {error}",
    "sync_offline": "Niet verbonden met een studieserver (offline kiosk).",
    "sync_never": "nog nooit",
    "sync_last_success": "Laatst gelukt: {when}",
    "sync_no_error": "Geen problemen met synchroniseren.",
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
    "columns_hint": "K kind · O ouder · M medewerker   VAS-P pijn · VAS-W welbevinden · CLIN arts",
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
    "who": "Patiënt {patient} · visite {visit} · invuller: {respondent}",
    "clinician_title": "Gegevens van de arts invoeren?",
    "clinician_check": "Controleer de studiecode en de visite voordat je begint.",
    "resume_title": "Dit concept hervatten?",
    "resume_form": "Vragenlijst: {form}",
    "resume_then": "Daarna: {forms}",
    "resume_then_none": "Daarna volgt geen andere vragenlijst.",
    "resume_yes": "Hervatten",
}

#: Dutch texts for a parent, who is addressed with "u" (the texts above say "je", for a child).
_NL_PARENT: Final[dict[str, str]] = {
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
