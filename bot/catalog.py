"""The content catalog: the bot's words, per key and language."""

from pathlib import Path
from typing import Any

import yaml

CATALOG_FILE = Path(__file__).resolve().parent / "content" / "catalog.yml"


class Catalog:
    """Looks up a sentence by key and language, falling back to the default language.

    A missing key is a bug in the domain or an action, so it raises instead of
    sending the prospect a placeholder.
    """

    def __init__(self, entries: dict[str, dict[str, str]], default_language: str) -> None:
        self.entries = entries
        self.default_language = default_language

    @classmethod
    def load(cls, default_language: str, path: Path = CATALOG_FILE) -> "Catalog":
        with path.open(encoding="utf-8") as file:
            return cls(yaml.safe_load(file), default_language)

    def render(self, key: str, language: str, **params: Any) -> str:
        variants = self.entries[key]
        template = variants.get(language) or variants[self.default_language]
        return template.format(**params) if params else template

    def languages(self, key: str) -> set[str]:
        return set(self.entries[key])
