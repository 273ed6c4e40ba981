"""One module per kind of upstream the ``sources`` job polls (issue 11).

Each kind's ``poll`` fetches through :mod:`syndication.edges.http_client` (or reads a
file), maps items with :mod:`syndication.core.source_items`, and yields
:class:`~syndication.sources.base.Batch` es; it never touches the database. The unit of
work in :mod:`syndication.services.sources` writes each batch with its cursor in one
transaction.
"""
