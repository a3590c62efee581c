"""Downloader middleware: retries with exponential back-off.

Scrapy's ``RetryMiddleware`` re-queues a failed request at once; an API that answers 429 or
503 needs time instead. This subclass waits ``backoff_base * 2**n`` seconds (capped, and at
least what a ``Retry-After`` header asks) before handing the retry back to the scheduler.
The wait is an ``asyncio.sleep`` on the asyncio reactor: other requests go on meanwhile.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.http import Request, Response
from scrapy.utils.response import response_status_message


class BackoffRetryMiddleware(RetryMiddleware):
    """Retry 429, 5xx and network errors with exponential back-off."""

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.backoff_base = settings.getfloat("TENDERWATCH_BACKOFF_BASE", 2.0)
        self.backoff_max = settings.getfloat("TENDERWATCH_BACKOFF_MAX", 120.0)

    def _delay(self, request: Request, response: Response | None = None) -> float:
        attempt = request.meta.get("retry_times", 0)
        delay = min(self.backoff_max, self.backoff_base * (2**attempt))
        if response is not None:
            retry_after = response.headers.get(b"Retry-After")
            if retry_after and retry_after.strip().isdigit():
                delay = max(delay, min(self.backoff_max, float(retry_after)))
        # A little jitter so that parallel retries do not hit the source in step.
        return delay * (1 + random.random() * 0.1)

    async def process_response(  # type: ignore[override]
        self, request: Request, response: Response
    ) -> Request | Response:
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        retry = self._retry(request, response_status_message(response.status))
        if retry is None:
            return response
        await asyncio.sleep(self._delay(request, response))
        return retry

    async def process_exception(  # type: ignore[override]
        self, request: Request, exception: Exception
    ) -> Request | None:
        if request.meta.get("dont_retry", False) or not isinstance(
            exception, self.exceptions_to_retry
        ):
            return None
        retry = self._retry(request, exception)
        if retry is None:
            return None
        await asyncio.sleep(self._delay(request))
        return retry
