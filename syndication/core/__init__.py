"""What the service's things *are*: pure code with no I/O, no clock and no SQLAlchemy."""
