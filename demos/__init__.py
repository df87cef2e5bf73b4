"""Runnable demos: ``python -m demos.walkthrough``.

Imported before any demo runs (``python -m demos.digits`` imports this package first), so a
learner's own ``engine.py`` or ``nn.py`` in the folder is named here, before a demo trips on it.
"""

from glassgrad import origin as _origin

_origin.check()
