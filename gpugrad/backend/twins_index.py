"""NumPy twins of the indexing primitives (gather/scatter) that ops cannot do with ``xp`` alone."""

from __future__ import annotations


class IndexTwins:
    """Mixin of indexing primitives for a backend with ``self.xp``."""
