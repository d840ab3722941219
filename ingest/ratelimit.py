"""Fixed-window request rate limit per API key, counted in the shared cache (Redis in production)."""

import logging
import time

from django.core.cache import cache

logger = logging.getLogger(__name__)


def rate_limit_hit(*, key_id: int, limit_per_minute: int) -> int | None:
    """Counts one request; returns seconds to wait when over the limit, else None.

    If the cache is unreachable the request is let through (fail open): losing usage events
    because the limiter's store is down would be worse than a minute without a limit.
    """
    if limit_per_minute <= 0:
        return None
    now = time.time()
    window = int(now // 60)
    cache_key = f"ratelimit:ingest:{key_id}:{window}"
    try:
        if cache.add(cache_key, 1, timeout=70):
            count = 1
        else:
            try:
                count = cache.incr(cache_key)
            except ValueError:  # expired between add and incr
                cache.add(cache_key, 1, timeout=70)
                count = 1
    except Exception:  # any cache backend's connection error
        logger.warning("ingest rate limit store unavailable; request allowed", exc_info=True)
        return None
    if count > limit_per_minute:
        return max(1, int(60 - (now % 60)) + 1)
    return None
