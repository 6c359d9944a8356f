"""The server's index store and verdicts are made once, on the loop, when `initialized`
arrives: before its first await, which lets a check start in a worker thread. cached_property
has no lock since Python 3.12, so a worker thread and the loop making them at once would each
get their own (two open index stores, two sets of memos)."""

from __future__ import annotations

import asyncio

from lsprotocol import types

from medcode.server.lsp import server as server_module
from medcode.server.lsp.protocol import stop_workers
from medcode.server.lsp.server import MedcodeServer


def test_store_and_verdicts_exist_before_initialized_first_awaits(default_index, monkeypatch):
    ls = MedcodeServer(str(default_index))
    seen: dict[str, bool] = {}

    async def pull_settings(self) -> None:
        # The first await of on_initialized: from here on, checks may run in threads.
        seen.update(store="store" in vars(self), verdicts="verdicts" in vars(self))

    monkeypatch.setattr(MedcodeServer, "pull_settings", pull_settings)
    monkeypatch.setattr(MedcodeServer, "register_for_settings", lambda self: None)
    monkeypatch.setattr(server_module, "warm_up", lambda: None)
    try:
        asyncio.run(ls.on_initialized(types.InitializedParams()))
    finally:
        stop_workers(ls)
    assert seen == {"store": True, "verdicts": True}
    assert ls.verdicts.store is ls.store  # one store, the verdicts' own
