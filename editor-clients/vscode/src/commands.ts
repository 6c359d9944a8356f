/**
 * The extension's commands and the medcode command lines behind them (pure, unit-tested; the
 * manifest test checks that package.json contributes exactly these commands).
 */

export const COMMANDS = {
  lookupCode: "medcode.lookupCode",
  rebuildIndex: "medcode.rebuildIndex",
  indexStatus: "medcode.indexStatus",
  importIndex: "medcode.importIndex",
  restartServer: "medcode.restartServer",
  showOutput: "medcode.showOutput",
} as const;

/** Server-side command (server/lsp/server.py): re-open the indexes after they changed. */
export const SERVER_RELOAD_INDEXES = "medcode.reloadIndexes";

export interface CodeSetChoice {
  id: string;
  label: string;
  detail: string;
}

/** The official sets `medcode index import` reads, with what to download for each. */
export const IMPORT_SETS: readonly CodeSetChoice[] = [
  { id: "icd10cm", label: "ICD-10-CM", detail: "CDC/NCHS tabular XML or order file, or their zip" },
  { id: "icd10pcs", label: "ICD-10-PCS", detail: "CMS order file and/or tables XML, or their zips" },
  { id: "hcpcs", label: "HCPCS Level II", detail: "CMS quarterly alpha-numeric file (zip)" },
  { id: "ndc", label: "NDC", detail: "FDA NDC directory (ndctext.zip)" },
  { id: "cpt", label: "CPT", detail: "your licensed AMA data files" },
];

/** Same shape as index_builder/codesets.py SET_ID_RE. */
const LOCAL_SET_RE = /^[a-z][a-z0-9-]{1,31}$/;

/** Why a local set name would be refused, or undefined when it is fine. */
export function localSetNameProblem(name: string): string | undefined {
  if (LOCAL_SET_RE.test(name)) {
    return undefined;
  }
  return "2 to 32 characters: lower-case letters, digits and '-', starting with a letter";
}

export function buildArgs(): string[] {
  return ["index", "build"];
}

export function statusArgs(): string[] {
  return ["index", "status"];
}

/** The answer of `medcode index status` as a Markdown document (its table is fixed-width text). */
export function statusMarkdown(text: string): string {
  return `# medcode index status\n\n\`\`\`text\n${text.trimEnd()}\n\`\`\`\n`;
}

/** `medcode index import SET PATH` (medcode reads a local set as a plain code,description list). */
export function importArgs(setId: string, path: string): string[] {
  return ["index", "import", "--", setId, path];
}
