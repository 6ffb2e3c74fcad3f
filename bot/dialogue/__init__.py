"""Rasa and us: the custom-action protocol and its actions, the Rasa client and process."""
