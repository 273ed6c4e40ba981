"""``keys generate``: a new signing key for ``$SYNDICATION_SECRET_KEY`` or ``secret_key_file``.

It reads no settings (``cli/base.py``), so it works while a short key is being refused.
"""

from __future__ import annotations

from syndication.cli.base import group

keys = group("keys", "Signing keys: make one for $SYNDICATION_SECRET_KEY or secret_key_file.")


@keys.command()
def generate() -> None:
    """Print a new random signing key (64 characters) and nothing else."""
    from syndication.edges.secret_key import new_key

    print(new_key())
