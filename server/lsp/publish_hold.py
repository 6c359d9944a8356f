"""When a finished publish is written: after the answers the client is waiting for, and a large
one in the gap after an answer rather than just before the client's next request.

The client reads its messages in order and parses a publish whole; an answer written behind one
reaches it only after that parse. For the 50,000-claim bench file a publish is 2.7 MB (9,230
diagnostics): 50-300 ms of orjson in bench_x12's client on this VM (VS Code's JSON.parse and
Neovim's vim.json.decode parse it whole too). A request sent while the publish is still on its
way (5-30 ms on this VM; bench_x12's client reads a pipe 256 KB at a time) is answered behind it.

Measured with timestamps on both sides (bench_x12's re-check rounds: a hover or completion every
10 ms after each answer), the answers that came behind a publish were nearly all requests the
client sent 0-15 ms after the server had started writing it, while it was in the pipe, with no
request in flight when it was written; a few had reached the server and were not read yet. So:

* every publish waits while a request the loop answers is in flight (priority.answering);
* a large one first lets the loop read what has arrived (requests already in the pipe or the
  reader's buffer are then in flight), and, while the client is sending requests (one answered
  within STREAM), waits for the next answer and goes right after it: the client is then reading
  the answer and has its pause ahead, instead of sending into the publish;
* nothing is held longer than `bound` seconds from when it was ready: a steady stream of
  requests cannot starve diagnostics, and a client that stopped sending loses at most that.

Small publishes (most documents) go out as before: after the answers in flight only.
"""

from __future__ import annotations

import asyncio
import time

from .. import priority

LARGE = 256 * 1024  # bytes of diagnostics from which a publish waits for a gap (the client parses it for milliseconds)
STREAM = 0.05  # seconds: an answer this recent means the client is sending requests
READS = 3  # loop turns for what has arrived to be read: the pipe's data, the reader's wake-up, the message


async def hold(size: int, bound: float) -> None:
    """Return when a publish of `size` bytes of diagnostics may be written (at most `bound`
    seconds from now). Call on the loop."""
    loop = asyncio.get_running_loop()
    until = loop.time() + bound  # by the clock: a loaded loop sleeps longer than asked
    if size < LARGE:
        while priority.answering() and loop.time() < until:
            await asyncio.sleep(0.002)
        return
    answered = priority.answers()[0]  # an answer from here on is "the next" (one to a request read below too)
    for _ in range(READS):
        await asyncio.sleep(0)
    while (left := until - loop.time()) > 0:
        if not priority.answering():
            count, at = priority.answers()
            if count != answered:
                return  # right after the answer: the next turn of the loop
            left = min(left, STREAM - (time.perf_counter() - at))  # the client has not asked for STREAM: now
            if left <= 0:
                return
        await _next_answer(loop, left)


async def _next_answer(loop: asyncio.AbstractEventLoop, timeout: float) -> None:
    """Until the next answer is sent, or `timeout` seconds."""
    answer = loop.create_future()
    stop = priority.on_answer(lambda: answer.done() or answer.set_result(None))
    try:
        await asyncio.wait_for(answer, timeout)
    except TimeoutError:
        pass
    finally:
        stop()
