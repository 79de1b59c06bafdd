"""Isolation drivers behind one small interface (see `base`)."""
