"""Which language to answer in."""

SUPPORTED_LANGUAGES = ("en", "he", "ar", "fa", "ro")
RTL_LANGUAGES = frozenset({"he", "ar", "fa"})


def normalise(code: str | None) -> str | None:
    """Turn a channel's hint ("he-IL", "RO", "iw") into one of our codes, or None."""
    if not code:
        return None
    base = code.strip().lower().replace("_", "-").split("-")[0]
    base = {"iw": "he", "per": "fa", "mo": "ro"}.get(base, base)
    return base if base in SUPPORTED_LANGUAGES else None


def choose_language(hint: str | None, previous: str | None, default: str) -> str:
    """The channel's hint wins, then the lead's last language, then the default.

    A text-based detector joins this decision with the multilingual training
    data; until then the hint and the lead's history are what we know.
    """
    return normalise(hint) or normalise(previous) or default
