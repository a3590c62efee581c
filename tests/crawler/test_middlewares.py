"""Retries wait exponentially longer, and at least what Retry-After asks."""

from scrapy.http import Request, Response
from scrapy.settings import Settings

from tenderwatch.crawler.middlewares import BackoffRetryMiddleware


def middleware(base: float = 2.0, cap: float = 120.0) -> BackoffRetryMiddleware:
    return BackoffRetryMiddleware(
        Settings(
            {"TENDERWATCH_BACKOFF_BASE": base, "TENDERWATCH_BACKOFF_MAX": cap, "RETRY_TIMES": 4}
        )
    )


def delay_after(
    mw: BackoffRetryMiddleware, retries: int, response: Response | None = None
) -> float:
    request = Request("http://127.0.0.1/x", meta={"retry_times": retries})
    return mw._delay(request, response)


def test_delay_doubles_with_each_retry() -> None:
    mw = middleware()
    delays = [delay_after(mw, n) for n in range(4)]
    for n, d in enumerate(delays):
        assert 2.0 * 2**n <= d <= 2.0 * 2**n * 1.1  # at most 10 % jitter


def test_delay_is_capped() -> None:
    assert delay_after(middleware(cap=10.0), 10) <= 11.0


def test_retry_after_header_is_honoured() -> None:
    response = Response("http://127.0.0.1/x", status=429, headers={"Retry-After": "30"})
    assert delay_after(middleware(), 0, response) >= 30.0


def test_429_and_5xx_are_retried() -> None:
    mw = middleware()
    assert {429, 500, 502, 503, 504} <= mw.retry_http_codes
