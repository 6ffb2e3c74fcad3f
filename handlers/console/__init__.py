"""The ops and reps console under /console/: login, roles, the pages."""
