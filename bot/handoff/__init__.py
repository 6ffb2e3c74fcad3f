"""A person takes over: handoff records, triggers, the card, the reps' desk, timers."""
