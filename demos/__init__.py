"""Runnable demos: ``python -m demos.walkthrough``."""
