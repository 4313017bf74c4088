"""Key bindings whose footer descriptions speak the staff language.

Textual reads a binding's description from the class's ``BINDINGS``, in one language. A staff
screen built for Dutch replaces them with :func:`speak`, so its footer is Dutch as well.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from textual.dom import DOMNode

from epro.kiosk.i18n import tr


def speak(node: DOMNode, language: str, descriptions: Mapping[str, str]) -> None:
    """Give ``node``'s bindings the texts ``descriptions`` names (action → text key)."""
    table = node._bindings.key_to_bindings
    for key, bindings in table.items():
        table[key] = [
            replace(binding, description=tr(language, descriptions[binding.action]))
            if binding.action in descriptions
            else binding
            for binding in bindings
        ]
