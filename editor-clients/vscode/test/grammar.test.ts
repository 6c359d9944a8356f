// Tokenises X12 with the TextMate engine VS Code itself uses (vscode-textmate + oniguruma).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import * as oniguruma from "vscode-oniguruma";
import { INITIAL, type IGrammar, parseRawGrammar, Registry } from "vscode-textmate";

const root = join(__dirname, "..", "..");
let grammar: IGrammar;

before(async () => {
  const wasm = readFileSync(require.resolve("vscode-oniguruma/release/onig.wasm"));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns: string[]) => new oniguruma.OnigScanner(patterns),
      createOnigString: (text: string) => new oniguruma.OnigString(text),
    }),
    loadGrammar: (scopeName: string) => {
      if (scopeName !== "source.x12") {
        return Promise.resolve(null);
      }
      const path = join(root, "syntaxes", "x12.tmLanguage.json");
      return Promise.resolve(parseRawGrammar(readFileSync(path, "utf8"), path));
    },
  });
  const loaded = await registry.loadGrammar("source.x12");
  assert.ok(loaded, "the grammar loads");
  grammar = loaded;
});

/** [text, innermost scope] for each token of each line, carrying the rule stack across lines. */
function tokenize(text: string): Array<[string, string]> {
  let stack = INITIAL;
  const out: Array<[string, string]> = [];
  for (const line of text.split("\n")) {
    const result = grammar.tokenizeLine(line, stack);
    for (const token of result.tokens) {
      out.push([line.slice(token.startIndex, token.endIndex), token.scopes[token.scopes.length - 1] ?? ""]);
    }
    stack = result.ruleStack;
  }
  return out;
}

function scopeOf(tokens: Array<[string, string]>, text: string): string[] {
  return tokens.filter(([t]) => t === text).map(([, s]) => s);
}

describe("x12.tmLanguage.json", () => {
  test("segment ids at line start and after a segment terminator", () => {
    const tokens = tokenize("ISA*00*:~\nHI*ABK:E119~SV1*HC:99213*100~\n  NM1*IL*1~");
    assert.deepEqual(scopeOf(tokens, "ISA"), ["entity.name.tag.segment.x12"]);
    assert.deepEqual(scopeOf(tokens, "HI"), ["entity.name.tag.segment.x12"]);
    assert.deepEqual(scopeOf(tokens, "SV1"), ["entity.name.tag.segment.x12"]);
    assert.deepEqual(scopeOf(tokens, "NM1"), ["entity.name.tag.segment.x12"]);
  });

  test("a BOM before ISA does not hide the segment id", () => {
    assert.deepEqual(scopeOf(tokenize("\uFEFFISA*00~"), "ISA"), ["entity.name.tag.segment.x12"]);
  });

  test("delimiters", () => {
    const tokens = tokenize("HI*ABK:E119^ABF:Z9999~");
    assert.deepEqual(scopeOf(tokens, "*"), ["punctuation.separator.element.x12"]);
    assert.deepEqual(scopeOf(tokens, ":"), ["punctuation.separator.component.x12", "punctuation.separator.component.x12"]);
    assert.deepEqual(scopeOf(tokens, "^"), ["punctuation.separator.repetition.x12"]);
    assert.deepEqual(scopeOf(tokens, "~"), ["punctuation.terminator.segment.x12"]);
  });

  test("code-set qualifiers: HI, SV1 and LIN N4", () => {
    const tokens = tokenize("HI*ABK:E119*ABF:Z9999*BBR:02703ZZ*BBQ:0DTJ4ZZ*BK:25000*BF:4019~SV1*HC:99213:25*100~LIN**N4*00002821501~");
    for (const q of ["ABK", "ABF", "BBR", "BBQ", "BK", "BF", "HC", "N4"]) {
      assert.deepEqual(scopeOf(tokens, q), ["keyword.other.qualifier.x12"], q);
    }
  });

  test("codes, values and the N4 address segment are not qualifiers", () => {
    const tokens = tokenize("N4*ANYTOWN*CA*90001~CLM*HC*100~");
    assert.deepEqual(scopeOf(tokens, "N4"), ["entity.name.tag.segment.x12"]);
    assert.deepEqual(scopeOf(tokens, "HC"), ["source.x12"]); // an element value, not a composite qualifier
    assert.deepEqual(scopeOf(tokens, "E119"), []);
    const hi = tokenize("HI*ABK:E119~");
    assert.deepEqual(scopeOf(hi, "E119"), ["source.x12"]);
  });

  test("the repository's 837P fixture: every segment starts with a segment id", () => {
    const fixture = readFileSync(join(root, "..", "..", "tests", "fixtures", "x12", "claims_837p.x12"), "utf8");
    const segments = fixture.split("~").map((s) => s.trim()).filter(Boolean);
    const ids = tokenize(fixture).filter(([, s]) => s === "entity.name.tag.segment.x12");
    assert.equal(ids.length, segments.length);
  });
});
