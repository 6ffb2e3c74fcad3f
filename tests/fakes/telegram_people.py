"""People on the fake Bot API: a prospect in a private chat with the bot, and the
sales reps in their group. Each step pushes an update the way Telegram would and
waits for what the real aiogram code inside the app sends back."""

from collections.abc import Callable
from typing import Any

from tests.fakes.bot_api import Call, FakeBotAPI


def buttons(message: Call) -> list[str]:
    markup = message.params.get("reply_markup") or {}
    return [key["text"] for row in markup.get("inline_keyboard", []) for key in row]


def callback_data(message: Call) -> list[str]:
    markup = message.params.get("reply_markup") or {}
    return [key["callback_data"] for row in markup.get("inline_keyboard", []) for key in row]


class Prospect:
    """One Telegram user talking to the bot; each step waits for the bot's answer."""

    def __init__(self, api: FakeBotAPI, chat_id: int, language: str) -> None:
        self.api, self.chat_id, self.language = api, chat_id, language
        self.seen = len(self.received())  # what the bot sent that this prospect has read

    async def _answer(self, push: dict[str, Any] | None, replies: int) -> list[Call]:
        if push is not None:
            self.api.push_update(push)
        wanted = self.seen + replies
        calls = await self.api.wait_for("sendMessage", wanted, chat_id=self.chat_id)
        new, self.seen = calls[self.seen : wanted], wanted
        return new

    async def says(self, text: str | None, replies: int = 1, **fields: Any) -> list[Call]:
        update = self.api.message_update(self.chat_id, text, language_code=self.language, **fields)
        return await self._answer(update, replies)

    async def presses(self, message: Call, title: str) -> list[Call]:
        keys = [key for row in message.params["reply_markup"]["inline_keyboard"] for key in row]
        [key] = [k for k in keys if k["text"] == title]
        update = self.api.callback_update(
            self.chat_id, key["callback_data"], language_code=self.language,
            message_id=message.result["message_id"],
        )  # fmt: skip
        return await self._answer(update, 1)

    async def receives(self, count: int = 1) -> list[Call]:
        """The next ``count`` messages the bot sends on its own (a rep's words, a follow-up)."""
        return await self._answer(None, count)

    def received(self) -> list[Call]:
        return self.api.sent("sendMessage", self.chat_id)


class RepsGroup:
    """The reps' group: what the bot posts there, reps pressing its buttons and replying."""

    def __init__(self, api: FakeBotAPI, chat_id: int) -> None:
        self.api, self.chat_id = api, chat_id
        self.seen = len(api.sent("sendMessage", chat_id))

    async def posts(self, count: int = 1) -> list[Call]:
        """The next ``count`` messages the bot posts in the group."""
        calls = await self.api.wait_for("sendMessage", self.seen + count, chat_id=self.chat_id)
        new, self.seen = calls[self.seen : self.seen + count], self.seen + count
        return new

    async def post_where(self, wanted: Callable[[Call], bool]) -> Call:
        """The next post that is ``wanted``, passing over others (another handoff's
        reminder, say: the group is shared by every handoff)."""
        while True:
            [post] = await self.posts()
            if wanted(post):
                return post

    def press(self, message: Call, data: str, rep: int, name: str) -> None:
        self.api.push_update(self.api.callback_update(
            self.chat_id, data, message_id=int(message.result["message_id"]), user_id=rep,
            first_name=name,
        ))  # fmt: skip

    def reply(self, message: Call, rep: int, name: str, text: str) -> None:
        self.api.push_update(self.api.group_message_update(
            self.chat_id, rep, text, first_name=name, reply_to=int(message.result["message_id"]),
        ))  # fmt: skip
