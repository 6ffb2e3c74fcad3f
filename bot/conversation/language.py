"""Which language to answer in: the channel's hint, the lead's history and a detector.

lingua is restricted to the five languages the bot speaks, which makes short
texts far more reliable (a Hebrew or Persian-only letter settles it at once).
What no library decides for us is how much a short, ambiguous message ("ok",
"hi", a phone number) may override what we already know about the prospect;
that policy is ``choose``.
"""

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

SUPPORTED_LANGUAGES = ("en", "he", "ar", "fa", "ro")
RIGHT_TO_LEFT = frozenset({"he", "ar", "fa"})
LINGUA = {
    Language.ENGLISH: "en",
    Language.HEBREW: "he",
    Language.ARABIC: "ar",
    Language.PERSIAN: "fa",
    Language.ROMANIAN: "ro",
}
CERTAIN = 0.95  # a script or word only one of our languages uses
SWITCH = 0.85  # sure enough to leave the language the prospect has been using
SWITCH_MIN_WORDS = 3


def normalise(code: str | None) -> str | None:
    """Turn a channel's hint ("he-IL", "RO", "iw") into one of our codes, or None."""
    if not code:
        return None
    base = code.strip().lower().replace("_", "-").split("-")[0]
    base = {"iw": "he", "per": "fa", "mo": "ro"}.get(base, base)
    return base if base in SUPPORTED_LANGUAGES else None


class LanguageChooser:
    def __init__(self) -> None:
        self._detector: LanguageDetector = (
            LanguageDetectorBuilder.from_languages(*LINGUA).with_preloaded_language_models().build()
        )

    def detect(self, text: str) -> tuple[str, float] | None:
        """The most likely of our languages and its confidence (0-1), or None for no words."""
        values = self._detector.compute_language_confidence_values(text)
        if not values or values[0].value <= 0:
            return None
        return LINGUA[values[0].language], values[0].value

    def choose(self, text: str, hint: str | None, previous: str | None, default: str) -> str:
        """Follow the prospect's language, switching mid-chat only on clear evidence.

        Without history, the channel's hint (browser or Telegram language)
        stands in for it; with neither, the detector's best guess is taken.
        """
        known = normalise(previous) or normalise(hint)
        detected = self.detect(text)
        if detected is None:
            return known or default
        code, confidence = detected
        if confidence >= CERTAIN or known is None:
            return code
        if code != known and confidence >= SWITCH and len(text.split()) >= SWITCH_MIN_WORDS:
            return code
        return known
