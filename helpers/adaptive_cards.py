"""Adaptive Cards for Teams: the few card elements the day's cards use, the webhook message that
carries a card, and the two checks Teams makes before it shows one.

A Teams Workflows webhook ("When a Teams webhook request is received") takes a message holding one
Adaptive Card. Teams renders card schema version 1.5 at most and refuses a message over about
28 KB, so every card is checked here, offline, before it is written or posted:

- against the published Adaptive Card 1.5 schema, shipped in ``helpers/schemas/`` (its README
  names the source and the licence);
- for size: ``len(json.dumps(payload).encode())``, the bytes that are posted, must stay under
  :data:`MAX_PAYLOAD_BYTES`.

A picture (a matplotlib figure) goes into the card as a PNG inside the card itself (a ``data:``
address), at the largest resolution of :data:`PICTURE_DPIS` that keeps the message under the limit;
when none does, the card leaves the picture out and says so (:func:`fit_card`).
"""

from __future__ import annotations

import base64
import functools
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import jsonschema
from matplotlib.figure import Figure
from PIL import Image as PillowImage

from helpers.errors import Day26Error
from helpers.files import write_text_atomically

SCHEMA_FILE = Path(__file__).parent / "schemas" / "adaptive-card-1.5.json"
CARD_SCHEMA_URL = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_VERSION = "1.5"  # the highest version Teams renders
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
MAX_PAYLOAD_BYTES = 28_000  # Teams' limit is "about 28 KB": counted here as 28,000 bytes of JSON
PICTURE_DPIS = (110, 90, 72)  # dots per inch of a card's picture, tried largest first
PICTURE_COLOURS = 64  # a 64-colour PNG of a plot is about a third of the bytes of a full-colour one


@dataclass
class Picture:
    """A figure for a card, and the words that stand for it where it cannot be shown."""

    figure: Figure
    alt_text: str


@dataclass
class FittedCard:
    """A webhook message ready to post: its JSON content, its size in bytes (what is posted), the
    dots per inch of its pictures (None: none shown), and whether they were left out to stay under
    the limit."""

    payload: dict
    size_bytes: int
    picture_dpi: int | None
    pictures_left_out: bool = False

    def summary(self) -> str:
        """One line: the size against the limit, and what became of the picture."""
        picture = f"picture at {self.picture_dpi} dpi" if self.picture_dpi else "no picture"
        if self.pictures_left_out:
            picture = "picture left out (over the limit with it)"
        return f"{self.size_bytes:,} bytes of Teams' {MAX_PAYLOAD_BYTES:,}, Adaptive Card {CARD_VERSION}, {picture}"


# --- card elements -------------------------------------------------------------------------------


def text(words: str, *, bold: bool = False, subtle: bool = False, large: bool = False) -> dict:
    """A TextBlock that wraps (Teams' Markdown subset works in ``words``)."""
    block: dict = {"type": "TextBlock", "text": words, "wrap": True}
    if bold:
        block["weight"] = "Bolder"
    if subtle:
        block["isSubtle"] = True
    if large:
        block["size"] = "Medium"
    return block


def facts(pairs: Sequence[tuple[str, str]]) -> dict:
    """A FactSet: one line per (title, value) pair."""
    return {"type": "FactSet", "facts": [{"title": title, "value": value} for title, value in pairs]}


def table(header: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[int] | None = None) -> dict:
    """A Table (card version 1.5) with ``header`` as its first row; ``widths`` are the columns'
    relative widths (default: all equal)."""
    widths = widths or [1] * len(header)

    def row(cells: Sequence[str]) -> dict:
        return {"type": "TableRow", "cells": [{"type": "TableCell", "items": [text(cell)]} for cell in cells]}

    return {
        "type": "Table",
        "columns": [{"width": width} for width in widths],
        "firstRowAsHeader": True,
        "rows": [row(header), *(row(cells) for cells in rows)],
    }


def image(png: bytes, alt_text: str) -> dict:
    """An Image whose PNG travels inside the card, as a ``data:image/png;base64,...`` address."""
    return {"type": "Image", "url": "data:image/png;base64," + base64.b64encode(png).decode(), "altText": alt_text}


def card_png(figure: Figure, dpi: int, colours: int = PICTURE_COLOURS) -> bytes:
    """``figure`` as a PNG at ``dpi`` dots per inch with at most ``colours`` colours (a plot's few
    colours survive; the message stays small)."""
    full_colour = io.BytesIO()
    figure.savefig(full_colour, format="png", dpi=dpi)
    few_colours = PillowImage.open(full_colour).convert("RGB").quantize(colours)
    png = io.BytesIO()
    few_colours.save(png, format="PNG", optimize=True)
    return png.getvalue()


# --- the message and its checks -----------------------------------------------------------------


def webhook_payload(body: list[dict]) -> dict:
    """The message a Teams Workflows webhook takes: one Adaptive Card 1.5 with ``body``."""
    card = {"$schema": CARD_SCHEMA_URL, "type": "AdaptiveCard", "version": CARD_VERSION, "body": body}
    return {"type": "message", "attachments": [{"contentType": CARD_CONTENT_TYPE, "contentUrl": None, "content": card}]}


def payload_bytes(payload: dict) -> int:
    """The size of ``payload`` as it is written and posted, in bytes."""
    return len(json.dumps(payload).encode())


@functools.cache
def _card_validator() -> jsonschema.Draft6Validator:
    """A validator of the shipped schema (the schema's own ``$schema`` says JSON Schema draft-06)."""
    return jsonschema.Draft6Validator(json.loads(SCHEMA_FILE.read_text()))


def card_problem(payload: dict) -> str:
    """What keeps ``payload`` from being a Teams webhook message with a valid Adaptive Card 1.5
    ("" when nothing does). The size is not checked here: see :func:`check_payload`."""
    attachments = payload.get("attachments") if isinstance(payload, dict) else None
    if not isinstance(attachments, list) or len(attachments) != 1 or payload.get("type") != "message":
        return 'not a Teams message: expected {"type": "message", "attachments": [one card]}'
    attachment = attachments[0]
    if not isinstance(attachment, dict) or attachment.get("contentType") != CARD_CONTENT_TYPE:
        return f"its attachment is not an Adaptive Card (contentType {CARD_CONTENT_TYPE})"
    card = attachment.get("content")
    if not isinstance(card, dict) or card.get("version") != CARD_VERSION:
        return f"its card does not say version {CARD_VERSION}"
    error = jsonschema.exceptions.best_match(_card_validator().iter_errors(card))
    if error is None:
        return ""
    where = "/".join(str(part) for part in error.absolute_path) or "the card"
    return f"not a valid Adaptive Card {CARD_VERSION} at {where}: {error.message[:200]}"


def check_payload(payload: dict, source: str | Path) -> None:
    """Raise a one-line Day26Error naming ``source`` when ``payload`` is not a valid Teams message
    with an Adaptive Card 1.5, or is over Teams' size limit."""
    problem = card_problem(payload)
    if problem:
        raise Day26Error(f"{source}: {problem}")
    size = payload_bytes(payload)
    if size >= MAX_PAYLOAD_BYTES:
        raise Day26Error(f"{source}: {size:,} bytes, over Teams' limit of {MAX_PAYLOAD_BYTES:,} bytes per message")


def fit_card(
    bodies: Sequence[list[dict]], pictures: Sequence[Picture], left_out: str, source: str | Path
) -> FittedCard:
    """The richest valid card under Teams' size limit. ``bodies`` are the card's text, fullest first
    (e.g. long tables, then shorter ones); ``pictures`` go after the text. Tried in this order: the
    first body with the pictures at each of :data:`PICTURE_DPIS`, then each body without them and
    with ``left_out`` (a sentence saying where the pictures are) in their place. A Day26Error naming
    ``source`` when even the last body is too large."""
    if pictures:
        for dpi in PICTURE_DPIS:
            shown = [image(card_png(picture.figure, dpi), picture.alt_text) for picture in pictures]
            payload = webhook_payload([*bodies[0], *shown])
            if payload_bytes(payload) < MAX_PAYLOAD_BYTES:
                check_payload(payload, source)
                return FittedCard(payload, payload_bytes(payload), dpi)
    note = [text(left_out, subtle=True)] if pictures else []
    for body in bodies:
        payload = webhook_payload([*body, *note])
        if payload_bytes(payload) < MAX_PAYLOAD_BYTES:
            check_payload(payload, source)
            return FittedCard(payload, payload_bytes(payload), None, pictures_left_out=bool(pictures))
    size = payload_bytes(webhook_payload([*bodies[-1], *note]))
    raise Day26Error(
        f"{source}: the Teams card would be {size:,} bytes even without its picture, over Teams' limit of "
        f"{MAX_PAYLOAD_BYTES:,} bytes; post the Markdown table instead"
    )


def write_payload(card: FittedCard, path: str | Path) -> Path:
    """Write the message to ``path`` exactly as it is posted (one line of JSON); return ``path``."""
    return write_text_atomically(path, json.dumps(card.payload))


def read_payload(path: str | Path) -> dict:
    """The message in ``path`` (a card.json), checked as :func:`check_payload` does."""
    path = Path(path)
    try:
        payload = json.loads(path.read_text())
    except OSError:
        raise Day26Error(f"{path}: cannot be read. Write it first with --teams.") from None
    except ValueError as error:
        raise Day26Error(f"{path}: not JSON ({error}). Write it again with --teams.") from None
    check_payload(payload, path)
    return payload
