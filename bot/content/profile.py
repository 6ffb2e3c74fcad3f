"""The business profile: what is sold, booked, where and when (facts, no sentences).

One YAML file per business in ``profiles/``; the ``BUSINESS_PROFILE`` setting
names the one in use. Sentences about the business live in the content catalog.
"""

from pathlib import Path

import yaml
from pydantic import BaseModel, Field, model_validator

PROFILES_DIR = Path(__file__).resolve().parents[2] / "profiles"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Product(BaseModel):
    id: str
    name: str
    price: int
    capacity: int = Field(default=1, ge=1, description="parallel bookings per slot")
    aliases: list[str] = Field(default=[], description="how prospects write it, any language")

    def names(self) -> list[str]:
        return [self.id, self.name, *self.aliases]


class Kind(BaseModel):
    """A kind of product prospects ask for instead of a model's name: "the hybrid",
    "something electric", "a CRM". Its aliases are how they write it, in any language;
    one of four letters or more also matches as the start of a longer word ("hibridul",
    "היברידית", "هیبریدی"), so the inflections of five languages need not be listed."""

    id: str
    products: list[str] = Field(min_length=1, description="the ids of the products it covers")
    aliases: list[str] = Field(min_length=1)

    def names(self) -> list[str]:
        return [self.id, *self.aliases]


class Branch(BaseModel):
    id: str
    name: str
    address: str
    phone: str
    timezone: str
    hours: dict[str, str] = Field(description="day (mon..sun) -> 'HH:MM-HH:MM'")
    holidays: list[str] = []
    aliases: list[str] = Field(default=[], description="how prospects write it, any language")

    def names(self) -> list[str]:
        return [self.id, self.name, *self.aliases]


class HandoffRules(BaseModel):
    """When the bot brings in a person; each rule is on by default, 0 or false turns it off."""

    request_human: bool = True  # the prospect asks for a person
    complaint: bool = True
    fallbacks_in_a_row: int = Field(default=2, ge=0)  # the bot did not understand N times
    booking_failures: int = Field(default=2, ge=0)  # N times no slot could be booked
    hot_lead_score: float = Field(default=40, ge=0)  # in decision: a person is offered


class Profile(BaseModel):
    id: str
    name: str
    booking: str = Field(pattern="^(test_drive|demo)$")
    currency: str
    slot_minutes: int = 30
    products: list[Product]
    featured_product: str
    branches: list[Branch]
    handoff: HandoffRules = HandoffRules()
    kinds: list[Kind] = []

    @model_validator(mode="after")
    def _kinds_name_products(self) -> "Profile":
        ids = {p.id for p in self.products}
        for kind in self.kinds:
            if unknown := set(kind.products) - ids:
                raise ValueError(f"kind {kind.id!r} names unknown products: {sorted(unknown)}")
        return self

    def find_product(self, name_or_id: str | None) -> Product | None:
        """The product a prospect named, by name or id, in any case."""
        wanted = (name_or_id or "").casefold()
        return next((p for p in self.products if wanted in _folded(p.names())), None)

    def product(self, name_or_id: str | None) -> Product:
        """The product named, else the featured one (for sentences about "a product")."""
        found = self.find_product(name_or_id)
        return found or next(p for p in self.products if p.id == self.featured_product)

    def find_branch(self, name_or_id: str | None) -> Branch | None:
        wanted = (name_or_id or "").casefold()
        return next((b for b in self.branches if wanted in _folded(b.names())), None)

    def price(self, amount: int) -> str:
        return f"{self.currency}{amount:,}"


def _folded(names: list[str]) -> set[str]:
    return {name.casefold() for name in names}


def load_profile(name: str) -> Profile:
    """Load ``profiles/<name>.yml``, or a YAML file at the path ``name``."""
    path = Path(name) if name.endswith((".yml", ".yaml")) else PROFILES_DIR / f"{name}.yml"
    with path.open(encoding="utf-8") as file:
        return Profile.model_validate(yaml.safe_load(file))
