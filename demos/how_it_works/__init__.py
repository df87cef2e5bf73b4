"""The explainer's figures from a real network: ``python -m demos.how_it_works``."""
