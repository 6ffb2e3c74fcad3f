"""The words of a turn: catalog keys in the prospect's language and stage, the next step.

Rasa (and our steps before it) decide *what* to say as catalog keys; this
module turns a key, or one of Rasa's messages, into an OutboundMessage in the
prospect's language and stage, and ends every answer with the next best step
for the stage the prospect is now in.
"""

from typing import Any

from bot.content.catalog import Catalog
from bot.content.profile import Kind
from bot.conversation.messages import Attachment, Button, OutboundMessage
from bot.crm import acquisition

# Answers that name products, narrowed to the kind the prospect asked for ("the hybrid").
ABOUT_PRODUCTS = frozenset({"ask_price", "ask_product_info", "compare_products"})
NEXT_STEP_PAYLOAD = {
    "awareness": "/ask_product_info",
    "consideration": "/compare_products",
    "decision": "/book_appointment",
    "retention": "/ask_service",
    "advocacy": "/ask_referral",
}


class Wording:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def say(self, key: str, language: str, stage: str, **params: Any) -> OutboundMessage:
        return OutboundMessage(self.catalog.render(key, language, stage, **params), key=key)

    def from_rasa(
        self,
        message: dict[str, Any],
        language: str,
        stage: str,
        product: str | None,
        details: dict[str, str],
        kind: Kind | None = None,
    ) -> OutboundMessage:
        """One Rasa message in words: its catalog key, buttons and attachment; about the
        products of ``kind`` only, when the prospect asked for a kind and no model."""
        custom = message.get("custom") or {}
        key, params = custom.get("key"), {"product": product} | custom.get("params", {})
        if key == "inform" and details:
            key, params["details"] = "inform_contact", ", ".join(details.values())
        if kind is not None and product is None and key in ABOUT_PRODUCTS:
            key = self._narrowed(key, kind, params)
            if len(kind.products) > 1:
                stage = "any"  # the list of the kind's models, not one model's price
        text = (
            self.say(key, language, stage, **params).text if key else str(message.get("text", ""))
        )
        buttons = tuple(
            Button(title=str(b.get("title", "")), payload=str(b.get("payload", "")))
            for b in (message.get("buttons") or custom.get("buttons") or [])
        )
        attached = custom.get("attachment")
        attachment = Attachment(**attached) if isinstance(attached, dict) else None
        return OutboundMessage(text, buttons, attachment, key=key)

    def _narrowed(self, key: str, kind: Kind, params: dict[str, Any]) -> str:
        """Price list and comparison of the kind's products; for one product, that one;
        asked what several are like, the comparison of those (not the first one's page)."""
        params["kind_products"] = kind.products
        if len(kind.products) == 1:
            params["product"] = kind.products[0]
            return key
        return "kind_models" if key == "ask_product_info" else key

    def with_next_step(self, reply: OutboundMessage, stage: str, language: str) -> OutboundMessage:
        """Every answer ends with the next best step for the stage the prospect is now in,
        unless it offers its own choices (models, times) or is part of a booking."""
        if reply.buttons or (reply.key or "").startswith("booking."):
            return reply
        title = self.catalog.render(f"next_step.{stage}", language)
        buttons = (Button(title, NEXT_STEP_PAYLOAD[stage]),)
        return OutboundMessage(reply.text, buttons, reply.attachment, reply.key)

    def source_question(self, language: str) -> OutboundMessage:
        buttons = tuple(
            Button(self.catalog.render(f"source.{answer}", language), f"source:{answer}")
            for answer in acquisition.ANSWERS
        )
        return OutboundMessage(self.catalog.render("source_question", language), buttons)
