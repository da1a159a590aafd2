"""The prefilter: which rules could report on a text, from trigger words and structural anchors, before libcst parses it."""
