"""The Teams check-in as a real Teams message: ``day26 card --teams`` and ``day26 leaderboard --teams``
write an Adaptive Card 1.5 that the published schema accepts and that stays under Teams' 28 KB, and
``--post URL`` posts it to a webhook (here a real HTTP server on 127.0.0.1), keeping to the rate limit."""

from __future__ import annotations

import base64
import itertools
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jsonschema
import pytest

from grading.autograde import Course
from grading.leaderboard import build_leaderboard, write_leaderboard_card
from grading.records import GradeRecord, write_record
from grading.verify import Check, Verdict
from helpers.adaptive_cards import MAX_PAYLOAD_BYTES, SCHEMA_FILE
from helpers.card import SELF_MEASURED, make_card
from helpers.errors import Day26Error
from helpers.report import RESULTS_SCHEMA, VariantResult
from helpers.teams_card import write_teams_card
from helpers.teams_webhook import post_card_file, post_json

MACHINE = {"processor": "Test CPU", "cores": 2, "torch_threads": 2, "int8_instructions": ["AVX2"]}
VERSIONS = {"torch": "2.13.0", "onnxruntime": "1.32.0"}
VARIANTS = [  # variant, size in bytes, median ms, accuracy, speed-up
    ("baseline", 4_950_000, 4.0, 0.974, 1.0),
    ("quantized_dynamic", 1_300_000, 3.1, 0.972, 1.3),
    ("quantized_static", 1_300_000, 1.5, 0.970, 2.6),
    ("pruned", 4_950_000, 4.0, 0.968, 1.0),
    ("onnx", 4_900_000, 2.0, 0.974, 2.0),
    ("combined", 400_000, 0.4, 0.965, 10.0),
]


def write_results(folder: Path, variants: list[tuple]) -> Path:
    """A results.json (and the track.json beside it) as the notebooks write them."""
    results = folder / "artifacts" / "results.json"
    records = []
    for variant, size, median, accuracy, speedup in variants:
        latency = {"median": median, "p90": 1.1 * median, "threads": 1, "batch_size": 1}
        record = VariantResult(
            variant=variant,
            description=variant,
            artifact=f"{variant}.file",
            size_bytes=size,
            latency_ms=latency,
            speedup_vs_baseline=speedup,
            accuracy=accuracy,
            params=1000,
            sparsity=0.0,
            track="images",
            versions=VERSIONS,
            machine=MACHINE,
        )
        records.append(asdict(record))
    results.parent.mkdir(parents=True)
    results.write_text(json.dumps({"schema": RESULTS_SCHEMA, "records": records}))
    (results.parent / "track.json").write_text('{"track": "images", "model": "reference SkinCNN"}')
    return results


def the_card(payload: dict) -> dict:
    """The Adaptive Card inside a webhook message, after checking the message's envelope."""
    assert payload["type"] == "message" and len(payload["attachments"]) == 1
    attachment = payload["attachments"][0]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive" and attachment["contentUrl"] is None
    card = attachment["content"]
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.5"
    return card


def assert_valid_and_small(path: Path) -> dict:
    """card.json is one valid Adaptive Card 1.5 (by the shipped published schema) under 28 KB."""
    payload = json.loads(path.read_text())
    assert len(json.dumps(payload).encode()) == path.stat().st_size < MAX_PAYLOAD_BYTES <= 28 * 1024
    card = the_card(payload)
    jsonschema.Draft6Validator(json.loads(SCHEMA_FILE.read_text())).validate(card)
    return card


def texts(element) -> list[str]:
    """Every text of a card: TextBlocks' texts and facts' titles and values."""
    if isinstance(element, list):
        return [found for item in element for found in texts(item)]
    if not isinstance(element, dict):
        return []
    own = [element["text"]] if element.get("type") == "TextBlock" else []
    own += [f"{fact['title']}: {fact['value']}" for fact in element.get("facts", [])]
    return own + [found for value in element.values() for found in texts(value)]


def table_rows(card: dict) -> list[list[str]]:
    """The rows of every Table of the card (header rows included), as their cells' texts."""
    return [
        [" ".join(texts(cell)) for cell in row["cells"]]
        for element in card["body"]
        if element["type"] == "Table"
        for row in element["rows"]
    ]


# --- the learner's card ------------------------------------------------------------------------


def test_the_learner_card_is_a_valid_adaptive_card_with_the_figures_of_card_md(tmp_path):
    results = write_results(tmp_path, VARIANTS)
    make_card(results, tmp_path / "out")
    path, fitted = write_teams_card(results, tmp_path / "out")
    card = assert_valid_and_small(path)
    assert fitted.size_bytes == path.stat().st_size and fitted.picture_dpi is not None
    words = "\n".join(texts(card))
    assert "Day 26, images track, reference SkinCNN" in words and SELF_MEASURED in words
    assert "machine: Test CPU (AVX2), 2 cores; batch 1, 1 thread(s)" in words
    assert "libraries: torch 2.13.0, onnxruntime 1.32.0" in words
    markdown = (tmp_path / "out" / "card.md").read_text()
    rows = table_rows(card)
    assert rows[0] == ["variant", "size MB", "smaller", "latency ms", "faster", "accuracy", "change"]
    assert [row[0] for row in rows[1:]] == [variant[0] for variant in VARIANTS]
    for row in rows[1:]:
        assert "| " + " | ".join(row) + " |" in markdown.splitlines()  # the same figures as card.md
    assert "| combined | 0.400 | 12.4x | 0.400 | 10.00x | 96.5% | -0.9 pts |" in markdown
    pictures = [element for element in card["body"] if element["type"] == "Image"]
    assert len(pictures) == 1 and pictures[0]["altText"]
    prefix = "data:image/png;base64,"
    assert pictures[0]["url"].startswith(prefix)
    assert base64.b64decode(pictures[0]["url"][len(prefix) :])[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_card_with_many_variants_leaves_the_picture_out_and_stays_under_the_limit(tmp_path):
    many = VARIANTS[:1] + [(f"variant_{n:02d}", 1_000_000 + n, 1.0 + n / 10, 0.95, 1.5) for n in range(30)]
    path, fitted = write_teams_card(write_results(tmp_path, many), tmp_path)
    card = assert_valid_and_small(path)
    assert len(table_rows(card)) == 1 + len(many)
    assert not [element for element in card["body"] if element["type"] == "Image"]
    assert fitted.pictures_left_out and "The trade-off picture is left out" in "\n".join(texts(card))

    far_too_many = VARIANTS[:1] + [(f"variant_{n:02d}", 1_000_000, 1.0, 0.95, 1.5) for n in range(60)]
    results = write_results(tmp_path / "more", far_too_many)
    with pytest.raises(Day26Error) as error:
        write_teams_card(results, tmp_path / "more")
    message = str(error.value)
    assert message.startswith(f"{results}: the Teams card would be") and "over Teams' limit" in message
    assert "\n" not in message


# --- posting to a webhook ----------------------------------------------------------------------


@dataclass
class Received:
    method: str
    content_type: str
    body: bytes
    at: float  # time.monotonic()


@contextmanager
def webhook(answers: list[tuple[int, dict[str, str], bytes]]) -> Iterator[tuple[str, list[Received]]]:
    """A webhook on 127.0.0.1 that records every request and gives ``answers`` in turn (status,
    headers, body; the last one again and again). Yields its address (with a secret in it) and the list."""
    received: list[Received] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(Received(self.command, self.headers["Content-Type"], body, time.monotonic()))
            status, headers, answer = answers[min(len(received), len(answers)) - 1]
            self.send_response(status)
            for name, value in {**headers, "Content-Length": str(len(answer))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args) -> None:  # keep the test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/workflows/abc/triggers/manual?sig=SECRET", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="module")
def card_json(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("card")
    path, _ = write_teams_card(write_results(folder, VARIANTS), folder)
    return path


def test_the_card_is_posted_as_json_to_the_webhook(card_json):
    with webhook([(202, {}, b"")]) as (url, received):
        outcome = post_card_file(card_json, url)
    assert outcome.posted and outcome.line == "posted: HTTP 202 Accepted"
    assert len(received) == 1 and received[0].method == "POST" and received[0].content_type == "application/json"
    assert json.loads(received[0].body) == json.loads(card_json.read_text())
    assert received[0].body == card_json.read_bytes()  # exactly what was measured against the limit


def test_a_refusal_is_reported_in_one_line_without_the_secret(card_json):
    answer = b'{"error": {"code": "InvalidRequestContent",\n "message": "' + b"x" * 400 + b'"}}'
    with webhook([(400, {"Content-Type": "application/json"}, answer)]) as (url, received):
        outcome = post_card_file(card_json, url)
    assert not outcome.posted and len(received) == 1
    assert outcome.line.startswith('refused: HTTP 400 Bad Request: {"error": {"code": "InvalidRequestContent", "mes')
    assert "\n" not in outcome.line and "SECRET" not in outcome.line
    assert len(outcome.line) == len("refused: HTTP 400 Bad Request: ") + 200


def test_too_many_requests_is_retried_after_the_wait_it_asks_for(card_json):
    answers = [(429, {"Retry-After": "1"}, b"slow down"), (202, {}, b"")]
    with webhook(answers) as (url, received):
        outcome = post_card_file(card_json, url)
    assert outcome.posted and outcome.line == "posted: HTTP 202 Accepted"
    assert len(received) == 2 and received[1].at - received[0].at >= 0.95
    assert received[0].body == received[1].body == card_json.read_bytes()

    with webhook([(429, {"Retry-After": "0"}, b"still busy")]) as (url, received):
        outcome = post_json(url, b"{}")
    assert len(received) == 4  # the first try and 3 retries, each a second after the one before
    assert all(later.at - earlier.at >= 0.95 for earlier, later in itertools.pairwise(received))
    assert outcome.line == "refused: HTTP 429 Too Many Requests: still busy (still, after 3 retries)"


def test_a_webhook_that_cannot_be_reached_is_one_line(card_json):
    with webhook([(202, {}, b"")]) as (url, _):
        pass  # the server is gone: its port refuses connections
    outcome = post_card_file(card_json, url)
    assert not outcome.posted and outcome.line.startswith("not posted: cannot reach 127.0.0.1 (")
    assert "SECRET" not in outcome.line
    assert post_json("ftp://example.org/hook", b"{}").line.startswith("not posted: the webhook address must start")


def test_a_broken_card_json_is_refused_before_anything_is_posted(tmp_path, card_json):
    payload = json.loads(card_json.read_text())
    payload["attachments"][0]["content"]["body"].append({"type": "TextBlock", "txt": "a typo"})
    broken = tmp_path / "card.json"
    broken.write_text(json.dumps(payload))
    with webhook([(202, {}, b"")]) as (url, received), pytest.raises(Day26Error) as error:
        post_card_file(broken, url)
    assert str(error.value).startswith(f"{broken}: not a valid Adaptive Card 1.5 at body/")
    assert not received


def test_day26_card_post_writes_and_posts_the_card(tmp_path, capsys):
    from helpers.cli import main

    results = write_results(tmp_path, VARIANTS)
    command = ["card", "--results", str(results), "--out", str(tmp_path)]
    with webhook([(202, {}, b"")]) as (url, received):
        status = main([*command, "--post", url])
    shown = capsys.readouterr()
    assert status == 0, shown.err
    assert "posted: HTTP 202 Accepted" in shown.out and f"Teams card: {tmp_path / 'card.json'}" in shown.out
    assert received[0].body == (tmp_path / "card.json").read_bytes()
    assert_valid_and_small(tmp_path / "card.json")
    with webhook([(400, {}, b"Bad payload")]) as (url, received):
        status = main([*command, "--post", url])
    shown = capsys.readouterr()
    assert status == 1 and shown.err == "refused: HTTP 400 Bad Request: Bad payload\n"


# --- the class leaderboard's card --------------------------------------------------------------


def write_class(workspace: Path, learners: int) -> list[str]:
    """Grading records of a small class on the images track, as the verifier leaves them."""
    names = [f"learner-{n:02d}" for n in range(learners)]
    for n, learner in enumerate(names):
        speedup = 13.0 - n / 10
        figures = {
            "optimized.onnx": {
                "size_bytes": 400_000 + n,
                "accuracy": 0.97,
                "latency_ms": 4.0 / speedup,
                "speedup": speedup,
            },
            "reference": {"size_bytes": 4_950_000, "accuracy": 0.975, "latency_ms": 4.0},
        }
        checks = [Check("optimized.onnx", "speed", f"{speedup}x faster", ">= 8x", speedup >= 8)]
        verdict = Verdict(str(workspace / learner), "images", checks, figures=figures)
        record = GradeRecord(learner, "graded", verdict=verdict, machine=MACHINE)
        write_record(workspace / "records" / f"{learner}.json", record)
    return names


def test_the_leaderboard_card_shows_pseudonyms_and_is_valid(tmp_path):
    course = Course(tmp_path, tmp_path / "course")
    learners = write_class(course.workspace, 4)
    path, fitted = write_leaderboard_card(course, tmp_path / "board")
    card = assert_valid_and_small(path)
    words = "\n".join(texts(card))
    assert "measured by the grader" in words and "Test CPU (AVX2)" in words
    assert not [learner for learner in learners if learner in words]  # pseudonyms, never ids
    pseudonyms = [entry.name for entry in build_leaderboard(course, "pseudonym")[0]]
    rows = table_rows(card)
    assert rows[0] == ["rank", "learner", "faster", "smaller", "accuracy", "change", "targets"]
    assert [row[1] for row in rows[1:]] == pseudonyms and rows[1][0] == "1" and rows[1][2] == "13.00x"
    assert fitted.picture_dpi is not None and [element for element in card["body"] if element["type"] == "Image"]

    path, _ = write_leaderboard_card(course, tmp_path / "by-id", naming="id")
    assert [row[1] for row in table_rows(assert_valid_and_small(path))[1:]] == learners


def test_the_leaderboard_card_of_a_large_class_shows_the_top_and_stays_under_the_limit(tmp_path):
    course = Course(tmp_path, tmp_path / "course")
    write_class(course.workspace, 60)
    path, _ = write_leaderboard_card(course, tmp_path / "board")
    card = assert_valid_and_small(path)
    shown = len(table_rows(card)) - 1
    assert shown in (10, 5, 3)
    assert f"... and {60 - shown} more: the whole ranking is in leaderboard.md." in texts(card)


def test_day26_leaderboard_teams_post(tmp_path, capsys):
    from grading.cli import main

    course = Course(tmp_path, tmp_path / "course")
    learners = write_class(course.workspace, 3)
    out = tmp_path / "board"
    command = ["leaderboard", "--root", str(tmp_path), "--workspace", str(course.workspace), "--out", str(out)]
    with webhook([(202, {}, b"")]) as (url, received):
        status = main([*command, "--post", url])
    shown = capsys.readouterr()
    assert status == 0, shown.err
    assert "posted: HTTP 202 Accepted" in shown.out
    assert received[0].body == (out / "card.json").read_bytes()
    assert not [learner for learner in learners if learner in (out / "card.json").read_text()]
    assert learners[0] in (out / "leaderboard.md").read_text()  # the files keep their default naming, id
