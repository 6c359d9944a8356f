"""Does the probe give what document.walk gives on_claim, claim by claim?

    python bench/claim_reader_probe/equal.py FILE...
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from probe import Irregular, Reader  # noqa: E402

from medcode.server.x12 import document  # noqa: E402


def compare(text: str) -> tuple[int, int, int, int, str]:
    """(claims of the walk, equal, read by the fallback, different, why irregular or "")."""
    walked: list = []
    document.walk(text, lambda c, k: walked.append((c, k)))
    try:
        Reader(text)
    except Irregular as e:
        return len(walked), len(walked), len(walked), 0, f"file irregular ({e}): the walk"
    equal = len(walked)
    for batch in (True, False):  # both ways of reading lines and HI codes
        reader = Reader(text, batch)
        got = list(reader.claims())
        equal = min(equal, sum(1 for a, b in zip(walked, got) if a == b) - abs(len(got) - len(walked)))
    return len(walked), equal, reader.fallbacks, len(walked) - equal, ""


def main() -> None:
    total = [0, 0, 0, 0]
    for name in sys.argv[1:]:
        text = Path(name).read_text(errors="replace")
        n, eq, fb, bad, why = compare(text)
        for i, v in enumerate((n, eq, fb, bad)):
            total[i] += v
        print(f"{name}: {n} claims, {eq} equal, {fb} by the walk (fallback), {bad} different {why}")
    print(f"total: {total[0]} claims, {total[1]} equal, {total[2]} by the walk, {total[3]} different")


if __name__ == "__main__":
    main()
