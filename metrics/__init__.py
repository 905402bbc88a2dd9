"""Hall state (numpy), frozen snapshots and Prometheus exposition.

May import: feeds. Never alerts, runtime, console, or textual.
"""
