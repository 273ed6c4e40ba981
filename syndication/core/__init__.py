"""The pure core: what things *are*. Nothing in this package does I/O, reads the clock or
imports SQLAlchemy; ``now``, keys and data are passed in."""
