"""Fixed-window request rate limit per API key, counted in the shared cache (Redis in production)."""

import time

from django.core.cache import cache


def rate_limit_hit(*, key_id: int, limit_per_minute: int) -> int | None:
    """Counts one request; returns seconds to wait when over the limit, else None."""
    if limit_per_minute <= 0:
        return None
    now = time.time()
    window = int(now // 60)
    cache_key = f"ratelimit:ingest:{key_id}:{window}"
    if cache.add(cache_key, 1, timeout=70):
        count = 1
    else:
        try:
            count = cache.incr(cache_key)
        except ValueError:  # expired between add and incr
            cache.add(cache_key, 1, timeout=70)
            count = 1
    if count > limit_per_minute:
        return max(1, int(60 - (now % 60)) + 1)
    return None
