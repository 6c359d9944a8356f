import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { codeAt, lookupArgs, lookupMarkdown, parseLookup } from "../src/lookupView";

// Recorded from `medcode lookup --json -- CODE` with the embedded default indexes
// (tests/test_vscode_extension.py checks that the live output still has these fields).
const fixture = (name: string): string => readFileSync(join(__dirname, "..", "..", "test", "fixtures", name), "utf8");

describe("parseLookup", () => {
  test("reads the CLI's JSON", () => {
    const parsed = parseLookup(fixture("lookup_E11.json"));
    assert.ok(parsed);
    assert.equal(parsed.query, "E11");
    assert.equal(parsed.results[0]?.set_name, "ICD-10-CM");
  });

  test("rejects what is not that shape", () => {
    for (const text of ["", "not json", "[]", '{"query": 1, "results": []}', '{"query": "x"}']) {
      assert.equal(parseLookup(text), undefined, text);
    }
  });

  test("drops results without a code", () => {
    assert.deepEqual(parseLookup('{"query": "x", "results": [{"nope": 1}]}'), { query: "x", results: [] });
  });
});

describe("lookupMarkdown", () => {
  test("a header: description, release, hierarchy, notes and the codes below", () => {
    const md = lookupMarkdown(parseLookup(fixture("lookup_E11.json"))!);
    assert.match(md, /^# medcode lookup: E11\n/);
    assert.match(md, /## E11 — Type 2 diabetes mellitus/);
    assert.match(md, /\*\*ICD-10-CM\*\* · ICD-10-CM FY2026/);
    assert.match(md, /header — not valid on a claim by itself/);
    assert.match(md, /\*\*Use additional code\*\*/);
    assert.match(md, /10 subdivision\(s\), 87 billable code\(s\) below:/);
    assert.match(md, /- `E11\.9` Type 2 diabetes mellitus without complications/);
  });

  test("several readings are separated; a set without data says so", () => {
    const md = lookupMarkdown(parseLookup(fixture("lookup_J1100.json"))!);
    assert.equal(md.split("\n---\n").length, 2);
    assert.match(md, /cannot be verified: no HCPCS Level II data installed/);
  });

  test("nothing found: the CLI's own explanation", () => {
    const md = lookupMarkdown(parseLookup(fixture("lookup_none.json"))!, "'XYZ' does not have the shape of a code\n");
    assert.match(md, /'XYZ' does not have the shape of a code/);
  });

  test("backticks in text cannot break the layout", () => {
    const md = lookupMarkdown({ query: "a`b", results: [{ code: "X`1", set_name: "S", status: "found", found: true, description: "d`e" }] });
    assert.ok(!md.includes("`"));
  });
});

describe("codeAt / lookupArgs", () => {
  test("the code under the cursor in an X12 segment", () => {
    const line = "HI*ABK:E119*ABF:Z9999~";
    assert.equal(codeAt(line, 8), "E119");
    assert.equal(codeAt(line, 11), "E119"); // just after the code
    assert.equal(codeAt(line, 4), undefined); // the qualifier has no digit
    assert.equal(codeAt("LIN**N4*00002821501~", 10), "00002821501");
    assert.equal(codeAt("ICD-10-CM: E11.9", 13), "E11.9");
  });

  test("look-up arguments end options before the code", () => {
    assert.deepEqual(lookupArgs(" -5 "), ["lookup", "--json", "--", "-5"]);
  });
});
