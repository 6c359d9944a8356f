"""The first-run build of the embedded defaults hands its reload back to the server's loop.

Seen in code-server: with an empty index folder the server built the defaults in a thread,
then failed with `'MedcodeServer' object has no attribute 'loop'` (pygls 2 has none), so the
documents kept their "no data installed" findings until a restart.
"""

from __future__ import annotations

import asyncio

from medcode.server.lsp import server as lsp_server


class _Progress:
    def __getattr__(self, name):
        return lambda *args, **kwargs: None


async def test_first_run_build_reloads_on_the_servers_loop(tmp_path, monkeypatch):
    built = []
    monkeypatch.setattr(lsp_server, "build_defaults", lambda root, progress: built.append(root))
    monkeypatch.setattr(lsp_server.MedcodeServer, "work_done_progress", property(lambda self: _Progress()))
    server = lsp_server.MedcodeServer(str(tmp_path / "index"))
    monkeypatch.setattr(server, "window_show_message", lambda params: None)
    reloaded = asyncio.Event()
    on_loop = []

    def after_build():
        on_loop.append(asyncio.get_running_loop())
        reloaded.set()

    monkeypatch.setattr(server, "_after_build", after_build)
    server.build_in_background()
    await asyncio.wait_for(reloaded.wait(), 30)
    assert built == [tmp_path / "index"]
    assert on_loop == [asyncio.get_running_loop()]
