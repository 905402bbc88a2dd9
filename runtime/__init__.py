"""Wiring: the supervision pipeline that both the console and ``serve`` run."""
