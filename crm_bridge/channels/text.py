"""Long replies cut into the parts a platform takes, each measured the platform's way (Telegram counts
UTF-16 code units, WeCom UTF-8 bytes), cut at a line break or space where one is near."""

from __future__ import annotations

from collections.abc import Callable

Size = Callable[[str], int]


def utf16_units(text: str) -> int:
    """Telegram's measure of a text (UTF-16 code units); never less than the characters, so safe elsewhere."""
    return len(text.encode("utf-16-le")) // 2


def utf8_bytes(text: str) -> int:
    """WeCom's measure of a text."""
    return len(text.encode())


def longest_prefix(text: str, limit: int, size: Size) -> int:
    """How many characters of `text` fit in `limit` (as `size` measures)."""
    cut = len(text)
    while size(text[:cut]) > limit:
        cut -= max(1, (size(text[:cut]) - limit) // 2)
    return cut


def split_text(text: str, limit: int, size: Size = utf16_units) -> list[str]:
    """Parts of at most `limit`, cut at a line break or space in the part's second half."""
    parts: list[str] = []
    rest = text
    while size(rest) > limit:
        cut = longest_prefix(rest, limit, size)
        window = rest[:cut]
        at = max(window.rfind("\n"), window.rfind(" "))
        if at > cut // 2:
            cut = at + 1
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest or not parts:
        parts.append(rest)
    return parts
