"""Code that runs inside the Rasa server process (its own venv), not in the app."""
