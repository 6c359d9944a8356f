// Bundles with esbuild. `extension`: src/extension.ts → dist/extension.js (CommonJS for VS Code,
// `vscode` left to the host). `tests`: each test/*.test.ts → out/test/*.test.js for `node --test`,
// with installed packages left as require() calls; plus out/smoke/ and out/lib/ for the pytest.
import { build } from "esbuild";
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";

const mode = process.argv[2];
const root = join(import.meta.dirname, "..");

if (mode === "extension") {
  await build({
    absWorkingDir: root,
    entryPoints: ["src/extension.ts"],
    outfile: "dist/extension.js",
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    external: ["vscode"],
    minify: true,
    keepNames: true,
    sourcemap: false,
    logLevel: "warning",
  });
  console.log("built dist/extension.js");
} else if (mode === "tests") {
  rmSync(join(root, "out"), { recursive: true, force: true });
  const tests = readdirSync(join(root, "test")).filter((name) => name.endsWith(".test.ts"));
  await build({
    absWorkingDir: root,
    entryPoints: tests.map((name) => `test/${name}`),
    outdir: "out/test",
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    packages: "external",
    external: ["vscode"],
    sourcemap: "inline",
    logLevel: "warning",
  });
  // For tests/test_vscode_extension.py: the smoke test against the real server, and the
  // settings module alone (compared there with the server's own reading of the same values).
  await build({
    absWorkingDir: root,
    entryPoints: { "smoke/serverSmoke": "test/smoke/serverSmoke.ts", "lib/settings": "src/settings.ts" },
    outdir: "out",
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    packages: "external",
    logLevel: "warning",
  });
  console.log(`built ${tests.length} test file(s) into out/test, out/smoke/serverSmoke.js and out/lib/settings.js`);
} else {
  console.error("usage: node scripts/build.mjs extension|tests");
  process.exit(2);
}
