"""Property tests of the layers the adversarial review broke: the SSE event accumulator,
the redactor and the single-flight cache."""

from __future__ import annotations

import asyncio
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ollama_provider._cache import SingleFlightCache
from ollama_provider._decode import LineTooLongError, SSEDecoder
from ollama_provider._redact import MASK, Redactor

LIMIT = 64

_line = st.one_of(
    st.binary(max_size=90).map(lambda b: b"data: " + b.replace(b"\n", b"").replace(b"\r", b"")),
    st.just(b""),
    st.sampled_from([b": comment", b"event: message", b"id: 7", b"retry: 10", b"data"]),
)


def reference(lines: list[bytes]) -> tuple[list[bytes], bool]:
    """Events of a whole body by the SSE rules, and whether a unit passed the limit."""
    events: list[bytes] = []
    data: list[bytes] = []
    size = 0
    for line in lines:
        if len(line) > LIMIT:
            return events, True
        if not line:
            if data:
                events.append(b"\n".join(data))
            data, size = [], 0
        elif line.startswith(b"data:"):
            value = line[6:] if line[5:6] == b" " else line[5:]
            size += len(value) + 1
            if size > LIMIT:
                return events, True
            data.append(value)
        elif line == b"data":
            data.append(b"")
    if data:
        events.append(b"\n".join(data))
    return events, False


@settings(max_examples=500, deadline=None)
@given(lines=st.lists(_line, max_size=40), cuts=st.lists(st.integers(1, 30), max_size=40))
def test_the_event_accumulator_matches_the_rules_and_stays_bounded(
    lines: list[bytes], cuts: list[int]
) -> None:
    body = b"".join(line + b"\n" for line in lines)
    expected, too_long = reference(lines)
    decoder = SSEDecoder(max_line=LIMIT)
    got: list[bytes] = []
    position, pieces = 0, []
    for cut in cuts:
        pieces.append(body[position : position + cut])
        position += cut
    pieces.append(body[position:])
    try:
        for piece in pieces:
            if piece:
                got += decoder.feed(piece)
            held = decoder._size + decoder._lines._pending_len
            assert held <= 2 * LIMIT + max((len(p) for p in pieces), default=0)
        got += decoder.close()
    except LineTooLongError as exc:
        assert too_long, (lines, exc)
        got += exc.items  # type: ignore[arg-type]
        assert got == expected[: len(got)]
        return
    assert not too_long
    assert got == expected


_secret = st.text(
    alphabet=st.characters(blacklist_characters="*", blacklist_categories=("Cs",)),
    min_size=1,
    max_size=30,
).filter(lambda s: s.strip() == s and s)


@settings(max_examples=500, deadline=None)
@given(
    secrets=st.lists(_secret, min_size=1, max_size=4),
    filler=st.lists(st.text(max_size=20), min_size=1, max_size=6),
)
def test_the_redactor_never_lets_a_known_secret_through(
    secrets: list[str], filler: list[str]
) -> None:
    text = ""
    for i, part in enumerate(filler):
        text += part + secrets[i % len(secrets)]
    shown = Redactor(secrets)(text)
    for secret in secrets:
        assert secret not in shown or secret in MASK


@settings(max_examples=300, deadline=None)
@given(
    scheme=st.sampled_from(["Bearer ", "bearer  ", "Basic ", "Authorization: ", "api_key="]),
    token=st.text(alphabet="abcdefXYZ0123456789-._~+/", min_size=8, max_size=40),
    before=st.text(max_size=20),
)
def test_an_unknown_credential_shaped_value_is_masked(scheme: str, token: str, before: str) -> None:
    shown = Redactor()(f"{before} {scheme}{token} end")
    assert shown.endswith(f" {scheme}{MASK} end")


@pytest.mark.parametrize("seed", range(5))
def test_many_concurrent_cancellations_on_the_cache(seed: int) -> None:
    chooser = random.Random(seed)

    async def main() -> None:
        cache: SingleFlightCache[int] = SingleFlightCache()
        fetches = 0

        async def fetch() -> int:
            nonlocal fetches
            fetches += 1
            await asyncio.sleep(0.02)
            return 42

        for _round in range(20):
            tasks = [asyncio.ensure_future(cache.get("k", fetch, refresh=True)) for _ in range(10)]
            await asyncio.sleep(chooser.random() * 0.03)
            cancelled = {i for i in range(10) if chooser.random() < 0.5}
            for i in cancelled:
                tasks[i].cancel()
            results = await asyncio.gather(*tasks, return_exceptions=True)
            for i, result in enumerate(results):
                if i not in cancelled or not isinstance(result, asyncio.CancelledError):
                    assert result == 42, (i, result)
        assert fetches <= 20  # one fetch per round at most: never one per caller

    asyncio.run(main())


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 6))
def test_a_fetch_cancelled_with_its_loop_is_started_again_by_the_next_caller(n: int) -> None:
    cache: SingleFlightCache[int] = SingleFlightCache()

    async def slow() -> int:
        await asyncio.sleep(3600)
        return 0

    async def leave_early() -> None:
        task = asyncio.ensure_future(cache.get("k", slow))
        await asyncio.sleep(0)
        task.cancel()

    asyncio.run(leave_early())  # the loop ends: its fetch task is cancelled with it

    async def fetch() -> int:
        return n

    assert asyncio.run(cache.get("k", fetch)) == n
