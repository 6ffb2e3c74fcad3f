"""Messages the bot sends on its own: reminders, NPS questions, nudges."""
