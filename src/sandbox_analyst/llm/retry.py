"""Retries with exponential backoff and jitter, only before the first event is yielded.

Once text has reached the caller a retry would repeat it, so later failures are raised as they
are. The SDKs' own retries are disabled so that every provider behaves the same.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from sandbox_analyst.llm.errors import LLMError
from sandbox_analyst.llm.events import LLMEvent
from sandbox_analyst.telemetry import LLMRetried, emit

# A server asking for longer than this is treated as "not now": we wait this long at most.
MAX_RETRY_AFTER = 60.0


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 3
    backoff: float = 0.5
    max_delay: float = 30.0

    def delay(self, retry_number: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry `retry_number` (0-based)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), MAX_RETRY_AFTER)
        ceiling = min(self.max_delay, self.backoff * 2**retry_number)
        return ceiling * (0.5 + random.random() / 2)


def parse_retry_after(headers: object) -> float | None:
    """Seconds from `retry-after-ms` or `retry-after` (seconds or an HTTP date), if present."""
    get = getattr(headers, "get", None)
    if get is None:
        return None
    milliseconds = get("retry-after-ms")
    if milliseconds:
        try:
            return float(milliseconds) / 1000
        except ValueError:
            pass
    value = get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        parsed = email.utils.parsedate_tz(value)
        return None if parsed is None else email.utils.mktime_tz(parsed) - time.time()


async def stream_with_retries(
    attempt: Callable[[], AsyncIterator[LLMEvent]],
    policy: RetryPolicy,
    to_llm_error: Callable[[Exception], LLMError | None],
) -> AsyncIterator[LLMEvent]:
    """Events of `attempt()`, calling it again after a retryable failure before any event.

    `to_llm_error` translates a provider SDK's exception; anything it does not recognise (None)
    is a bug of ours and propagates unchanged.
    """
    retries = 0
    while True:
        events = attempt()
        failure: LLMError | None = None
        yielded_any = False
        try:
            while True:
                try:
                    event = await anext(events)
                except StopAsyncIteration:
                    return
                except LLMError:
                    raise
                except Exception as exc:
                    failure = to_llm_error(exc)
                    if failure is None:
                        raise
                    if yielded_any or not failure.retryable or retries >= policy.max_retries:
                        raise failure from exc
                    break
                yielded_any = True
                yield event
        finally:
            await events.aclose()
        emit(LLMRetried(failure.provider, failure.model, type(failure).__name__))
        await asyncio.sleep(policy.delay(retries, failure.retry_after))
        retries += 1
