/**
 * Which documents the server sees (pure; the manifest test checks that package.json activates
 * on the same languages). The server tells the kinds apart itself, by content first, then by
 * file extension and language: X12 claims (`ISA` after an optional BOM, so claim files saved as
 * .txt or .dat reach it as plain text), CMS price transparency files (CSV and JSON),
 * chargemaster CSVs, and Markdown / text documentation templates. Documents of none of these
 * kinds (most JSON files, say) get no findings.
 */

export const LANGUAGES = ["x12", "csv", "json", "markdown", "plaintext"] as const;

/** Local files and unsaved editors only: never output channels, git views or remote schemes. */
export const SCHEMES = ["file", "untitled"] as const;

export interface DocumentFilter {
  scheme: string;
  language: string;
}

export const DOCUMENT_SELECTOR: DocumentFilter[] = LANGUAGES.flatMap((language) =>
  SCHEMES.map((scheme) => ({ scheme, language })),
);
