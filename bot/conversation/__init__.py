"""The one path every message takes: the service, its message types, language, steps before Rasa."""
