"""Which sites a console page may read: the one value every console query is scoped by."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa


@dataclass(frozen=True, slots=True)
class Scope:
    """The sites a viewer may see: a set of site codes, or every site (``sites`` None).

    Built by the console's access layer from the signed-in account; the query functions
    take nothing else, so a page cannot forget to scope.
    """

    sites: frozenset[str] | None

    @classmethod
    def every_site(cls) -> Scope:
        return cls(None)

    @classmethod
    def of(cls, sites: Iterable[str]) -> Scope:
        return cls(frozenset(sites))

    def allows(self, site: str) -> bool:
        return self.sites is None or site in self.sites

    def where(self, column: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
        """The SQL condition keeping rows of the scope's sites."""
        if self.sites is None:
            return sa.true()
        return column.in_(sorted(self.sites))

    def narrowed(self, site: str | None) -> Scope:
        """The scope limited to ``site`` (a filter); a site outside the scope leaves nothing."""
        if site is None:
            return self
        return Scope(frozenset({site}) if self.allows(site) else frozenset())
