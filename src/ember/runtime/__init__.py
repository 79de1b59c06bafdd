"""Code that runs inside an execution environment.

Everything in this package is standard library only and imports nothing else from
Ember: it runs under the function's own interpreter, next to the function's code.
The host imports `protocol` from here so that both sides share one definition of
the channel's frames.
"""
