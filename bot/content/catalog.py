"""The content catalog: every sentence the bot says, per business profile and language.

``bot/content/common/<lang>.yml`` holds what the bot says for any business and
``bot/content/<profile>/<lang>.yml`` what it says for that business. A key maps
to one text or to stage variants (``any`` is the stage-agnostic fallback).
Placeholders are filled from the profile's facts, in the reply's language, only
when a text uses them.
"""

import string
from pathlib import Path
from typing import Any

import yaml

from bot.content.profile import DAYS, Branch, Product, Profile
from bot.conversation.language import SUPPORTED_LANGUAGES

CONTENT_DIR = Path(__file__).resolve().parent
Entry = str | dict[str, str]


class Catalog:
    def __init__(
        self, profile: Profile, entries: dict[str, dict[str, Entry]], default_language: str
    ) -> None:
        self.profile = profile
        self.entries = entries  # language -> key -> text or stage variants
        self.default_language = default_language

    @classmethod
    def load(cls, profile: Profile, default_language: str, root: Path = CONTENT_DIR) -> "Catalog":
        entries: dict[str, dict[str, Entry]] = {}
        for language in SUPPORTED_LANGUAGES:
            entries[language] = {}
            for folder in ("common", profile.id):
                path = root / folder / f"{language}.yml"
                if path.exists():
                    entries[language] |= yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return cls(profile, entries, default_language)

    def text(self, key: str, language: str, stage: str | None = None) -> str:
        """The raw text; a missing key is a bug, so it raises rather than improvise."""
        entry = self.entries.get(language, {}).get(key)
        if entry is None:
            entry = self.entries[self.default_language][key]
        if isinstance(entry, dict):
            return entry.get(stage or "any") or entry["any"]
        return entry

    def render(self, key: str, language: str, stage: str | None = None, **params: Any) -> str:
        template = self.text(key, language, stage)
        return template.format_map(Facts(self, language, params))

    def placeholders(self, key: str, language: str, stage: str | None = None) -> set[str]:
        template = self.text(key, language, stage)
        return {name for _, name, _, _ in string.Formatter().parse(template) if name}


class Facts(dict[str, Any]):
    """Placeholder values, computed from the profile only when a text asks for them.

    ``product`` may be given (the product the prospect named); otherwise the
    profile's featured product stands in. ``kind_products`` (ids) narrows the price
    list, the comparison and the lowest price to the kind the prospect asked for.
    """

    def __init__(self, catalog: Catalog, language: str, params: dict[str, Any]) -> None:
        super().__init__(params)
        self.catalog, self.language, self.profile = catalog, language, catalog.profile
        narrowed = set(self.pop("kind_products", None) or ())
        self.products = [p for p in self.profile.products if p.id in narrowed] or list(
            self.profile.products
        )
        named = params.get("product") or (self.products[0].id if narrowed else None)
        self.product: Product = self.profile.product(named)
        self["product"] = self.product.name

    def __missing__(self, name: str) -> str:
        compute = getattr(self, f"fact_{name}", None)
        if compute is not None:
            value: str = compute()
        else:  # a sentence about the business: features, promotion, warranty...
            value = self.catalog.text(name, self.language)
        self[name] = value
        return value

    def _say(self, key: str) -> str:
        return self.catalog.text(key, self.language)

    def fact_business(self) -> str:
        return self.profile.name

    def fact_price(self) -> str:
        return self.profile.price(self.product.price)

    def fact_from_price(self) -> str:
        return self.profile.price(min(p.price for p in self.products))

    def fact_products(self) -> str:
        return ", ".join(p.name for p in self.profile.products)

    def fact_features(self) -> str:
        return self._say(f"features.{self.product.id}")

    def fact_price_list(self) -> str:
        return "\n".join(f"• {p.name}: {self.profile.price(p.price)}" for p in self.products)

    def fact_comparison(self) -> str:
        return "\n".join(
            f"• {p.name}, {self.profile.price(p.price)}: {self._say(f'features.{p.id}')}"
            for p in self.products
        )

    def fact_branch_names(self) -> str:
        return ", ".join(b.name for b in self.profile.branches)

    def fact_branches(self) -> str:
        return "\n".join(f"• {b.name}: {b.address}, {b.phone}" for b in self.profile.branches)

    def fact_service_phone(self) -> str:
        return self.profile.branches[0].phone

    def fact_hours(self) -> str:
        return "\n".join(f"• {b.name}: {self._opening_hours(b)}" for b in self.profile.branches)

    def _opening_hours(self, branch: Branch) -> str:
        """'Sun-Thu 09:00-19:00, Fri 09:00-13:00': runs of days with the same hours."""
        week = ("sun", *DAYS[:-1])
        runs: list[tuple[str, str, str]] = []
        for day in week:
            hours = branch.hours.get(day)
            if (
                hours
                and runs
                and runs[-1][2] == hours
                and week.index(runs[-1][1]) + 1 == week.index(day)
            ):
                runs[-1] = (runs[-1][0], day, hours)
            elif hours:
                runs.append((day, day, hours))
        return ", ".join(
            f"{self._say(f'day.{first}')}"
            + (f"–{self._say(f'day.{last}')}" if last != first else "")
            + f" {hours}"
            for first, last, hours in runs
        )
