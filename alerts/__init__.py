"""Alert rules and their lifecycle.

May import: feeds, metrics. Never runtime, console, or textual.
"""
