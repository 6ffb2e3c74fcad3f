"""The REST API: the public chat endpoint and the ops API (a sub-app behind a token)."""
