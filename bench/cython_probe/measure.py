"""CPU seconds of the cold check (as bench_x12.py's "check cold": fresh checker and look-up
memory, one untimed run first) or of the parse pass alone, best of N, in this process.

    python bench/cython_probe/measure.py cold|walk FILE [N]
    MEDCODE_PROBE_PURE=1 python bench/cython_probe/measure.py ...   # the .py modules
    python bench/cython_probe/measure.py cold FILE --callgrind      # under valgrind (below)

With --callgrind it runs the work once inside functools.reduce, so that
`valgrind --tool=callgrind --collect-atstart=no --toggle-collect=functools_reduce python ...`
counts the instructions of that work alone: a figure the machine's load does not move."""

import functools
import gc
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pure_hook  # noqa: E402,F401  (before medcode)

from medcode.index_builder.location import index_dir  # noqa: E402
from medcode.index_builder.reader import IndexStore  # noqa: E402
from medcode.server.analysis import DocumentChecker  # noqa: E402
from medcode.server.verdicts import Verdicts  # noqa: E402
from medcode.server.x12 import document  # noqa: E402


def main() -> None:
    what, path = sys.argv[1], Path(sys.argv[2])
    args = sys.argv[3:]
    text = path.read_text()
    size = len(text.encode())
    store = IndexStore(index_dir())  # MEDCODE_INDEX_DIR, else the user's data folder
    store.releases()

    def cold() -> None:
        DocumentChecker(Verdicts(store)).check(text)

    def walk() -> None:
        document.walk(text)

    work = {"cold": cold, "walk": walk}[what]
    if what == "cold":
        cold()  # the store's shared memos, as bench_x12.py's untimed first run
    if "--callgrind" in args:
        gc.collect()
        functools.reduce(lambda a, b: work(), [0, 1])
        return
    n = int(args[0]) if args else 3
    cpu = []
    for _ in range(n):
        gc.collect()
        c0 = time.process_time()
        work()
        cpu.append(time.process_time() - c0)
    best = min(cpu)
    kind = Path(document.__file__).suffix
    print(f"{what} ({kind}): CPU best of {n} {best:.3f} s = {size / 1e6 / best:.1f} MB/s ({', '.join(f'{c:.2f}' for c in cpu)})")


if __name__ == "__main__":
    main()
