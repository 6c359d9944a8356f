/**
 * Which documents the client sends the server (pure; the manifest test checks package.json
 * against it). X12 claims (the `x12` language: by extension, or `ISA` on the first line, so
 * claim files saved as .txt or .dat are X12 too) and CSV files (price files, chargemasters)
 * are the server's whatever their content. JSON, Markdown and plain text are sent too, and the
 * server decides from the content (server/sniff.py): a FHIR claim, a CMS price file (any name),
 * or a template that names a code set is read; package.json, a README or notes get nothing and
 * cost one look. The `medcode.files.include` / `files.exclude` settings widen or narrow that.
 */

export const LANGUAGES = ["x12", "csv", "json", "markdown", "plaintext"] as const;

/**
 * The languages this extension contributes (package.json `contributes.languages`): VS Code 1.74+
 * activates the extension on them by itself, so only the others are activation events.
 */
export const CONTRIBUTED_LANGUAGES = ["x12", "csv"] as const;

/** Local files and unsaved editors only: never output channels, git views or remote schemes. */
export const SCHEMES = ["file", "untitled"] as const;

export interface DocumentFilter {
  scheme: string;
  language: string;
}

export const DOCUMENT_SELECTOR: DocumentFilter[] = LANGUAGES.flatMap((language) =>
  SCHEMES.map((scheme) => ({ scheme, language })),
);
