"""Test drives and demos: availability, race-free booking, details and dates, texts, invites."""
