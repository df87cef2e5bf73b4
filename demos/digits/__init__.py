"""The digits demo: data, training, plots and a command line (``python -m demos.digits``)."""
