"""Core of the journey bot: conversation service, leads, touchpoints, storage, Rasa.

Nothing in this package imports aiogram or aiohttp's web server; the channel
adapters live in ``handlers/`` and ``bot/__main__.py`` wires both together.
"""
