"""Builders and helpers shared by test modules (imported as ``tests.support.x``)."""
