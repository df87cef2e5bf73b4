"""The live studio: draw a digit, watch the network read it, teach it (``python -m
demos.studio``)."""
