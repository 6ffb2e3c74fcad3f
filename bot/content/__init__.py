"""What the bot says and about whom: the content catalog and the business profiles."""
