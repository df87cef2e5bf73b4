"""What the engine's commands need from the system: files written whole (``files``) and
commands that fail in one line (``console``)."""
