"""Logs, metrics and reports about invocations."""
