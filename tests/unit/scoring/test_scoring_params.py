"""ScoringParams: the instruments.md "Rule:" defaults, and refusal of impossible settings."""

from __future__ import annotations

from typing import Any

import pytest

from epro.errors import EproError
from epro.scoring import DEFAULT_PARAMS, ScoringParams

DEFAULTS = [
    pytest.param("chaq_min_domains", 6, id="§2.1 at least 6 scored domains"),
    pytest.param("chaq_aid_floor", 2, id="§2.1 aids/help raise to 2"),
    pytest.param("chaq_child_age", 8, id="§2.1 child self-report from 8"),
    pytest.param("jafs_max_missing", 0, id="§2.2 JAFS null if any item missing"),
    pytest.param("jamar_child_age", 7, id="§2.2 child JAMAR from 7"),
    pytest.param("vas_child_age", 8, id="§2.3 child VAS from 8"),
    pytest.param("wellbeing_child_age", 8, id="§3 child well-being from 8"),
    pytest.param(
        "wellbeing_sources",
        ("vas_wellbeing", "chaq_wellbeing_vas", "jamar_wellbeing"),
        id="§3 well-being fallback order",
    ),
    pytest.param("acr_worsening_limit", 30, id="§4 worsening limit 30"),
    pytest.param("acr_min_improved", 3, id="§4 at least 3 improved"),
    pytest.param("acr_max_worsened", 1, id="§4 at most 1 worsened"),
    pytest.param("acr_zero_baseline_worsens", True, id="§4 zero baseline 0→x worsened"),
    pytest.param("acr_required_variables", 6, id="§4 all six variables needed"),
    pytest.param("acr_levels", (30, 50, 70, 90), id="§4 levels"),
    pytest.param("waning", "lost_response", id="§4.1 waning: response lost"),
    pytest.param(
        "repeat_infusion_visits", (("V2", "V3"), ("V4", "V5")), id="§4.1 V3 after V2, V5 after V4"
    ),
    pytest.param("flare_worsening", 40, id="§4.1 flare: worse by at least 40 %"),
    pytest.param("flare_min_worsened", 2, id="§4.1 flare: in at least 2 variables"),
    pytest.param("flare_max_improved", 1, id="§4.1 flare: at most 1 of the rest improved"),
    pytest.param("flare_improvement", 30, id="§4.1 flare: improved by at least 30 %"),
]


@pytest.mark.parametrize(("name", "value"), DEFAULTS)
def test_default_is_the_instruments_rule(name: str, value: object) -> None:
    assert getattr(DEFAULT_PARAMS, name) == value


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        pytest.param({"chaq_min_domains": 9}, "chaq_min_domains", id="more domains than exist"),
        pytest.param({"chaq_aid_floor": 4}, "chaq_aid_floor", id="aid floor off the scale"),
        pytest.param({"wellbeing_sources": ("mood",)}, "wellbeing_sources", id="unknown source"),
        pytest.param({"acr_levels": (0,)}, "acr_levels", id="level 0"),
        pytest.param({"acr_min_improved": 7}, "acr_min_improved", id="more improved than exist"),
        pytest.param({"acr_worsening_limit": -1}, "acr_worsening_limit", id="negative limit"),
    ],
)
def test_impossible_settings_are_refused(change: dict[str, Any], fragment: str) -> None:
    with pytest.raises(EproError, match=fragment):
        ScoringParams(**change)
