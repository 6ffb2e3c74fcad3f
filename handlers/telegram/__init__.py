"""The Telegram channel (aiogram 3): routers per feature, middlewares, delivery, modes."""
