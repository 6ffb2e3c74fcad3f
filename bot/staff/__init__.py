"""The team on the console: staff users with roles, and the audit log."""
