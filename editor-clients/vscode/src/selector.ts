/**
 * Which documents the server sees (pure; the manifest test checks that package.json activates
 * on the same languages). The server recognises X12 by content (`ISA` after an optional BOM),
 * so claim files saved as .txt or .dat reach it as plain text.
 */

export const LANGUAGES = ["x12", "csv", "markdown", "plaintext"] as const;

/** Local files and unsaved editors only: never output channels, git views or remote schemes. */
export const SCHEMES = ["file", "untitled"] as const;

export interface DocumentFilter {
  scheme: string;
  language: string;
}

export const DOCUMENT_SELECTOR: DocumentFilter[] = LANGUAGES.flatMap((language) =>
  SCHEMES.map((scheme) => ({ scheme, language })),
);
