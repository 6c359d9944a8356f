"""Random edits to a regular file's first claims, each compared (equal.compare): the probe
must give the walk's claims, by itself or by falling back, on whatever the edit makes.

    python bench/claim_reader_probe/fuzz.py FILE [N] [SEED]
"""

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from equal import compare  # noqa: E402

PIECES = ["~\n", "~", "*", ":", " ", "\n", "\r\n", "HI*ABK:I10~\n", "HI*BK:I10*XX:1~\n", "HI*ABF~\n", "LX*9~\n", "SV1*HC:99213:25*1*UN*2***1:9~\n",
          "SV2*0450*HC:99283*1*UN*1~\n", "DTP*434*RD8*20260101-20260105~\n", "DTP*435*D8*20260101~\n", "DTP*472*D8*20260230~\n", "CL1*1*1*01~\n",
          "DMG*D8*19800101*M~\n", "SBR*S*18~\n", "HL*9*2*23*0~\n", "CLM*X*1***13:A:1~\n", "SE*5*0001~\n", "ST*837*0002*005010X223A2~\n", "LIN**N4:123~\n", "SV5*HC:E0100~\n"]


def mutate(text: str, rng: random.Random) -> str:
    for _ in range(rng.randint(1, 3)):
        at = rng.randrange(len(text))
        if rng.random() < 0.3:
            text = text[:at] + text[at + rng.randint(1, 12) :]
        else:
            text = text[:at] + rng.choice(PIECES) + text[at:]
    return text


def main() -> None:
    text = Path(sys.argv[1]).read_text()
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
    # The envelope and the first 20 claims, with the trailers.
    cut = text.find("~\nHL*", [i for i in range(len(text)) if text.startswith("~\nCLM*", i)][20] if text.count("~\nCLM*") > 20 else len(text))
    head = text[:cut] + text[text.rfind("~\nSE*") :] if cut > 0 else text
    stats = [0, 0, 0, 0]
    for k in range(n):
        mutated = mutate(head, rng)
        claims, equal, fallback, differ, why = compare(mutated)
        stats[0] += claims
        stats[1] += equal
        stats[2] += fallback
        stats[3] += differ
        if differ:
            Path(f"/tmp/claim-probe-diff-{k}.837").write_text(mutated)
            print(f"case {k}: {differ} different (saved /tmp/claim-probe-diff-{k}.837)")
    print(f"{n} mutated files: {stats[0]} claims, {stats[1]} equal, {stats[2]} by the walk, {stats[3]} different")


if __name__ == "__main__":
    main()
