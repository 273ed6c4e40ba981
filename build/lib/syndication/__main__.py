"""``python -m syndication`` is the ``syndication`` command."""

from syndication.cli import main

main()
