"""The lead and its timeline: leads, touchpoints, journey stage, score, source, contact details."""
