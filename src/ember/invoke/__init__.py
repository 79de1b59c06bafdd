"""One invocation through the system: resolve, run in an environment, report."""
