"""Applying fixes: text edits, rounds until nothing is left, notebooks, atomic writes."""
