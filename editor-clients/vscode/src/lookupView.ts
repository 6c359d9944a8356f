/**
 * `medcode lookup CODE --json` → Markdown for a read-only document (pure, unit-tested).
 *
 * The JSON is the server's CodeView (server/describe.py `to_json`); this renders the same facts
 * as the hover (server/lsp/markdown.py), written to read well as plain text too, since the
 * document opens as text and the preview is one keystroke away.
 */

export interface LookupStep {
  code: string;
  description: string;
}

export interface LookupNoteGroup {
  label: string;
  source: string;
  texts: string[];
}

export interface LookupResult {
  code: string;
  set_name: string;
  status: string;
  found: boolean;
  description?: string | null;
  release?: string | null;
  date?: string | null;
  summary?: string;
  path?: LookupStep[];
  notes?: LookupNoteGroup[];
  facts?: Record<string, string>;
  children?: LookupStep[];
  children_total?: number;
  billable_below?: number;
  hints?: string[];
}

export interface LookupOutput {
  query: string;
  results: LookupResult[];
}

const NOTE_ITEMS = 12;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Parse the command's stdout; undefined when it is not the expected shape. */
export function parseLookup(stdout: string): LookupOutput | undefined {
  let data: unknown;
  try {
    data = JSON.parse(stdout);
  } catch {
    return undefined;
  }
  if (!isRecord(data) || typeof data["query"] !== "string" || !Array.isArray(data["results"])) {
    return undefined;
  }
  const results = data["results"].filter(
    (r): r is LookupResult => isRecord(r) && typeof r["code"] === "string" && typeof r["set_name"] === "string",
  );
  return { query: data["query"], results };
}

/** Backticks would end a code span; nothing else needs escaping to read as text. */
function inline(text: string): string {
  return text.replace(/`/g, "'");
}

function resultMarkdown(result: LookupResult): string[] {
  const lines: string[] = [];
  const title = result.description ? `## ${inline(result.code)} — ${inline(result.description)}` : `## ${inline(result.code)}`;
  lines.push(title, "");
  const where = result.release ?? `${result.set_name}: no data installed`;
  const on = result.date ? ` · on ${result.date}` : "";
  lines.push(`**${inline(result.set_name)}** · ${inline(where)}${on} · ${inline(result.summary ?? result.status)}`);
  if (result.path && result.path.length > 0) {
    lines.push("", result.path.map((s) => `${inline(s.code)} ${inline(s.description)}`).join(" › "));
  }
  const facts = Object.entries(result.facts ?? {});
  if (facts.length > 0) {
    lines.push("");
    for (const [label, value] of facts) {
      lines.push(`- ${inline(label)}: ${inline(String(value))}`);
    }
  }
  for (const group of result.notes ?? []) {
    const shown = group.texts.slice(0, NOTE_ITEMS);
    lines.push("", `**${inline(group.label)}** (${inline(group.source)})`);
    for (const text of shown) {
      lines.push(`- ${inline(text)}`);
    }
    if (group.texts.length > shown.length) {
      lines.push(`- … ${group.texts.length - shown.length} more`);
    }
  }
  const children = result.children ?? [];
  if (children.length > 0) {
    const total = result.children_total ?? children.length;
    const billable = result.billable_below ?? 0;
    lines.push("", `${total} subdivision(s), ${billable.toLocaleString("en-US")} billable code(s) below:`);
    for (const child of children) {
      lines.push(`- \`${inline(child.code)}\` ${inline(child.description)}`);
    }
    if (total > children.length) {
      lines.push(`- … ${total - children.length} more`);
    }
  }
  for (const hint of result.hints ?? []) {
    lines.push("", `→ ${inline(hint)}`);
  }
  return lines;
}

/**
 * The whole document. `stderr` carries the CLI's own explanation when nothing matched
 * (e.g. "'XYZ' does not have the shape of a code").
 */
export function lookupMarkdown(output: LookupOutput, stderr = ""): string {
  const lines = [`# medcode lookup: ${inline(output.query)}`, ""];
  if (output.results.length === 0) {
    const reason = stderr.trim() || `${output.query} does not have the shape of any code set.`;
    lines.push(inline(reason));
  }
  output.results.forEach((result, i) => {
    if (i > 0) {
      lines.push("", "---", "");
    }
    lines.push(...resultMarkdown(result));
  });
  return lines.join("\n") + "\n";
}

/** The code-like text around a cursor column, to prefill the look-up box. */
export function codeAt(lineText: string, character: number): string | undefined {
  const pattern = /[A-Za-z0-9][A-Za-z0-9.-]*[A-Za-z0-9]|[A-Za-z0-9]/g;
  for (const match of lineText.matchAll(pattern)) {
    const start = match.index ?? 0;
    const end = start + match[0].length;
    if (character >= start && character <= end) {
      return /\d/.test(match[0]) && match[0].length <= 13 ? match[0] : undefined;
    }
  }
  return undefined;
}

/** The arguments of `medcode lookup` for what the user typed (`--` so that `-5` is a code, not an option). */
export function lookupArgs(code: string): string[] {
  return ["lookup", "--json", "--", code.trim()];
}
