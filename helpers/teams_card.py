"""Your results card as a Teams message: ``day26 card --teams`` writes ``card.json``.

It is the card of :mod:`helpers.card` (the same figures as ``card.md``) as an Adaptive Card 1.5
inside the message a Teams Workflows webhook takes (see :mod:`helpers.adaptive_cards`):

- the track and the model, and that every figure is self-measured;
- the machine: processor and INT8 instruction sets, cores, batch and threads, library versions;
- a table with one row per variant: size, latency and accuracy, and the ratios against your baseline;
- the trade-off picture of ``card.png``, when the message stays under Teams' 28 KB with it (at a
  lower resolution if needed); otherwise the card says that the picture is left out.

``day26 card --post URL`` posts it (:mod:`helpers.teams_webhook`).
"""

from __future__ import annotations

from pathlib import Path

from helpers.adaptive_cards import FittedCard, Picture, facts, fit_card, table, text, write_payload
from helpers.card import (
    CARD_COLUMNS,
    SELF_MEASURED,
    card_cells,
    card_figure,
    card_rows,
    heading,
    libraries_line,
    machine_line,
    model_of,
    results_for_a_card,
)
from helpers.report import VariantResult

CARD_FILE = "card.json"
PICTURE_FILE = "card.png"  # the full-size picture that day26 card writes beside card.json
COLUMN_WIDTHS = (3, 2, 2, 2, 2, 2, 2)  # the variant's name gets the widest column


def teams_card(records: list[VariantResult], model: str = "", source: str | Path = "results.json") -> FittedCard:
    """The Teams message of the card of ``records`` (baseline first), ``model`` naming the model
    measured; a Day26Error naming ``source`` when it cannot fit under Teams' size limit."""
    first = records[0]
    body = [
        text(heading(records, model), bold=True, large=True),
        text(f"All figures {SELF_MEASURED}. Compare the ratios with peers, not the milliseconds.", subtle=True),
        facts([("machine", machine_line(first)), ("libraries", libraries_line(first))]),
        table(CARD_COLUMNS, [card_cells(row) for row in card_rows(records)], COLUMN_WIDTHS),
    ]
    picture = Picture(
        card_figure(records, model),
        "Trade-off picture: each variant's latency against its size on disk, coloured by accuracy",
    )
    left_out = (
        f"The trade-off picture is left out: with it the message would be over Teams' size limit ({PICTURE_FILE})."
    )
    return fit_card([body], [picture], left_out, source)


def write_teams_card(results: str | Path, out_dir: str | Path) -> tuple[Path, FittedCard]:
    """Write ``card.json`` for ``results`` (a results.json) into ``out_dir``; return its path and the card."""
    results, out_dir = Path(results), Path(out_dir)
    records = results_for_a_card(results)
    card = teams_card(records, model_of(results), results)
    return write_payload(card, out_dir / CARD_FILE), card
