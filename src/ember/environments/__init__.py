"""Execution environments: their lifecycle, the pools that keep them warm, and the
sandboxes they run in."""
