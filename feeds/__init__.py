"""Hall feeds: protocol v1 types, decoding, WebSocket client, demo hall, journal.

May import: nothing else of hallwatch.
"""
