"""The one clock of the service's edges; the core takes ``now`` as an argument instead."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    """The one clock of the edges; the core takes ``now`` as an argument instead."""
    return datetime.now(UTC)
