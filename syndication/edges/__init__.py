"""The I/O edges: servers, clients and files, each behind a small interface."""
