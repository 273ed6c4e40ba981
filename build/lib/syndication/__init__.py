"""syndication: RSS, Atom and JSON feeds and weekly digest e-mails from a newsroom store."""

__version__ = "0.1.0"
