"""A local HTTP server that replays recorded BOAMP and TED notices (offline runs and tests)."""

from tenderwatch.replay.server import ReplayData, ReplayFaults, ReplayServer

__all__ = ["ReplayData", "ReplayFaults", "ReplayServer"]
