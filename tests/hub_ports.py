"""A free port for a test hub: JupyterHub takes it and the two after it (its own API and its proxy's)."""

from __future__ import annotations

import socket


def free_hub_port() -> int:
    """A port that is free, with the two after it."""
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        try:
            for offset in (1, 2):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", port + offset))
            return port
        except OSError:
            continue
