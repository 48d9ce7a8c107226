"""Posting a card to a Teams channel through a Workflows webhook, politely.

To get a webhook address: in Teams, open Workflows, choose the template "Post to a channel when a
webhook request is received", pick the team and the channel; the last step shows the address
(keep it to yourself: anyone who has it can post to the channel).

The rules kept here:

- at most one request a second from this process (Teams takes a few a second per webhook);
- an answer of HTTP 429 (too many requests) means wait as long as its ``Retry-After`` header says
  (1 s when it says nothing readable) and try again, at most :data:`MAX_RETRIES` times;
- the outcome is one line: ``posted: HTTP 202 Accepted``, ``refused: HTTP 400 Bad Request: <the
  first 200 characters of the answer>``, or ``not posted: <why the service could not be reached>``.
  The address itself is never printed (it holds the webhook's secret signature); its host is.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from helpers.adaptive_cards import read_payload

SECONDS_BETWEEN_REQUESTS = 1.0
MAX_RETRIES = 3  # after an HTTP 429
LONGEST_RETRY_AFTER_SECONDS = 60.0  # a longer Retry-After is reported, not waited for
TIMEOUT_SECONDS = 30.0
ANSWER_CHARS = 200  # how much of a refusal's body the outcome line shows


@dataclass
class PostOutcome:
    """Whether the service took the card, and its answer in one line."""

    posted: bool
    line: str


class RateLimit:
    """At most one request per ``seconds`` (monotonic clock), however many posts this process makes."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.last_request: float | None = None

    def wait_for_turn(self) -> None:
        """Sleep until ``seconds`` have passed since the last request, then count this one."""
        if self.last_request is not None:
            time.sleep(max(0.0, self.last_request + self.seconds - time.monotonic()))
        self.last_request = time.monotonic()


RATE_LIMIT = RateLimit(SECONDS_BETWEEN_REQUESTS)  # shared by every post of this process


def retry_after_seconds(header: str | None) -> float:
    """The wait a ``Retry-After`` header asks for, in seconds: a number of seconds or an HTTP date
    (1 s when the header is missing or unreadable, never less than 0)."""
    if not header:
        return 1.0
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return 1.0
    return max(0.0, when.timestamp() - time.time())


def _one_line(body: bytes) -> str:
    """The first :data:`ANSWER_CHARS` characters of an answer's body, on one line."""
    return " ".join(body.decode("utf-8", errors="replace").split())[:ANSWER_CHARS]


def _refusal(error: urllib.error.HTTPError) -> str:
    try:
        body = _one_line(error.read())
    except (OSError, http.client.HTTPException):
        body = ""
    return f"HTTP {error.code} {error.reason}" + (f": {body}" if body else "")


def post_json(url: str, body: bytes) -> PostOutcome:
    """POST ``body`` (JSON, UTF-8) to the webhook at ``url``, keeping to the rate limit and retrying
    after HTTP 429; the service's answer in one line."""
    address = urllib.parse.urlsplit(url)
    if address.scheme not in ("https", "http") or not address.hostname:
        return PostOutcome(False, "not posted: the webhook address must start with https:// (a Teams Workflows URL)")
    host = address.hostname
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    retries = 0
    while True:
        RATE_LIMIT.wait_for_turn()
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                return PostOutcome(True, f"posted: HTTP {response.status} {response.reason}")
        except urllib.error.HTTPError as error:
            if error.code != 429:
                return PostOutcome(False, f"refused: {_refusal(error)}")
            if retries == MAX_RETRIES:
                return PostOutcome(False, f"refused: {_refusal(error)} (still, after {MAX_RETRIES} retries)")
            wait = retry_after_seconds(error.headers.get("Retry-After"))
            if wait > LONGEST_RETRY_AFTER_SECONDS:
                return PostOutcome(False, f"refused: {_refusal(error)} (asks to wait {wait:.0f} s: post again later)")
            retries += 1
            time.sleep(wait)
        except urllib.error.URLError as error:
            return PostOutcome(False, f"not posted: cannot reach {host} ({error.reason})")
        except TimeoutError:
            return PostOutcome(False, f"not posted: {host} did not answer within {TIMEOUT_SECONDS:.0f} s")
        except (OSError, http.client.HTTPException) as error:
            return PostOutcome(False, f"not posted: the connection to {host} failed ({type(error).__name__}: {error})")


def post_card_file(path: str | Path, url: str) -> PostOutcome:
    """Check the card in ``path`` (a card.json: valid Adaptive Card 1.5, under Teams' size limit),
    then post it to the webhook at ``url``."""
    return post_json(url, json.dumps(read_payload(path)).encode())
