"""Benchmark for the outline of FHIR claims (textDocument/documentSymbol on a Bundle): a Bundle of
N Claims, each with diagnoses, a procedure and items (every claim distinct), is outlined in
process (reader, fhir.outline, DocumentSymbol JSON) and over LSP stdio against `medcode serve`:
the first request once the check is published (from its reading), the same version again
(kept), right after a ranged edit inside a claim (the kept outline carried over it, compared
with the outline once that edit's check is done), and right after one between claims (answered
once the check of the new text is done). A script, not a test: nothing here asserts a timing.

    python bench/bench_fhir_outline.py [--claims 4000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).parent))
from bench_x12 import CLIENT_CAPABILITIES, LspClient, _count_symbols  # noqa: E402

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICD10PCS = "http://www.cms.gov/Medicare/Coding/ICD10"
CPT = "http://www.ama-assn.org/go/cpt"
DX = ("E11.9", "I10", "J45.909", "M81.0", "Z79.4", "E78.5")
PROCS = ("99213", "36415", "80053", "93000", "71046")


def bundle(n: int) -> str:
    entries = []
    for i in range(n):
        day = f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}"
        claim = {
            "resourceType": "Claim", "id": f"claim-{i}", "status": "active",
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "professional"}]},
            "patient": {"reference": f"Patient/p{i % 997}"}, "billablePeriod": {"start": day, "end": day},
            "total": {"value": 100 + i % 900, "currency": "USD"},
            "diagnosis": [{"sequence": k + 1, "diagnosisCodeableConcept": {"coding": [{"system": ICD10CM, "code": DX[(i + k) % len(DX)]}]}} for k in range(3)],
            "procedure": [{"sequence": 1, "date": day, "procedureCodeableConcept": {"coding": [{"system": ICD10PCS, "code": "0DTJ4ZZ"}]}}],
            "item": [{"sequence": k + 1, "productOrService": {"coding": [{"system": CPT, "code": PROCS[(i + k) % len(PROCS)]}]},
                      "servicedDate": day, "quantity": {"value": 1}, "net": {"value": 50, "currency": "USD"}} for k in range(3)],
        }
        entries.append({"fullUrl": f"urn:uuid:claim-{i}", "resource": claim})
    return json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries}, indent=2)


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def in_process(text: str, repeats: int) -> None:
    from medcode.server.fhir import reader
    from medcode.server.fhir.outline import fhir_outline
    from medcode.server.lsp.symbols import LIMIT, to_symbols
    from medcode.server.positions import LineIndex

    reading = reader.read(text)
    index = LineIndex(text, "utf-16")
    for label, fn in (
        ("reader (when the check's reading is stale)", lambda: reader.read(text)),
        ("outline + symbols + JSON (from the reading)", lambda: orjson.dumps(to_symbols(fhir_outline(reading, LIMIT), index, len(text))[0])),
    ):
        walls, cpus = [], []
        for _ in range(repeats):
            w, c = time.perf_counter(), cpu()
            fn()
            walls.append(time.perf_counter() - w)
            cpus.append(cpu() - c)
        print(f"  {label:<46} wall {statistics.median(walls) * 1000:7.1f} ms  cpu {statistics.median(cpus) * 1000:7.1f} ms (median of {repeats})")


def ranged(text: str, old: str, new: str) -> tuple[dict, str]:
    """A didChange content change replacing the first `old` (on one line, ASCII), and the text after it."""
    at = text.index(old)
    line, col = text.count("\n", 0, at), at - (text.rfind("\n", 0, at) + 1)
    change = {"range": {"start": {"line": line, "character": col}, "end": {"line": line, "character": col + len(old)}}, "text": new}
    return change, text[:at] + new + text[at + len(old) :]


async def over_lsp(text: str, claims: int, repeats: int) -> None:
    client = await LspClient.spawn([sys.executable, "-m", "medcode.server", "serve"], dict(os.environ), None)
    uri = "file:///bench/claims-bundle.json"
    inside, between = "right after an edit in a claim", "right after an edit between claims (waits for its check)"
    try:
        await client.request("initialize", {"processId": os.getpid(), "rootUri": None, "capabilities": CLIENT_CAPABILITIES})
        await client.notify("initialized", {})
        await asyncio.sleep(1.0)
        await client.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "json", "version": 1, "text": text}})
        await client.wait_publish(uri, 1)
        rows: dict[str, list[float]] = {"after the check (its reading)": [], "again (kept)": [], inside: [], between: []}
        count = same = 0
        version = 1

        async def edit_and_ask(row: str, old: str, new: str):
            """Replace `old` by `new`, ask for the outline at once (timed into `row`), and wait
            for the check of the edited text; the outline answered."""
            nonlocal text, version
            change, text = ranged(text, old, new)
            version += 1
            await client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]})
            result, s = await client.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}})
            rows[row].append(s)
            assert _count_symbols(result or []) == count, "the outline after an edit is incomplete"
            await client.wait_publish(uri, version)
            return result

        for r in range(repeats):
            result, s = await client.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}})
            rows["after the check (its reading)"].append(s)
            count = _count_symbols(result or [])
            _, s = await client.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}})
            rows["again (kept)"].append(s)
            # A ranged edit inside a claim (its id renamed, longer), the outline asked at once;
            # then again once the check of that text is done: the two must be equal.
            k = (r * 997 + claims // 2) % claims
            during = await edit_and_ask(inside, f'"id": "claim-{k}"', f'"id": "claim-{k}-v{r}"')
            checked, _ = await client.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}})
            same += during == checked
            # An edit between claims (a Bundle entry's fullUrl): answered once its check is done.
            await edit_and_ask(between, f'"fullUrl": "urn:uuid:claim-{k}"', f'"fullUrl": "urn:uuid:claim-{k}-v{r}"')
        for label, values in rows.items():
            if values:
                print(f"  LSP documentSymbol {label:<24} median {statistics.median(values) * 1000:7.1f} ms  max {max(values) * 1000:7.1f} ms  (n={len(values)})")
        print(f"  symbols sent: {count:,}; answers right after an edit in a claim equal to the outline after its check: {same}/{repeats}")
    finally:
        await client.close()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--claims", type=int, default=4000)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    text = bundle(args.claims)
    print(f"Bundle of {args.claims:,} Claims, {len(text) / 1e6:.1f} MB; load average {os.getloadavg()[0]:.2f}")
    in_process(text, args.repeats)
    asyncio.run(over_lsp(text, args.claims, args.repeats))


if __name__ == "__main__":
    main()
