// Builds the package (dist/: ES modules, React external) and the browser build that the Python
// package serves (src/schemastream/web/static/schemastream.js, committed so that a pip install
// has it). `node build.mjs --check` builds into memory and fails if the committed browser build
// differs from what the sources give; `--dist` builds dist/ only.
import { build } from "esbuild";
import { readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const browserBuild = join(here, "..", "src", "schemastream", "web", "static", "schemastream.js");
const check = process.argv.includes("--check");
const distOnly = process.argv.includes("--dist"); // leave the committed browser build alone

const banner =
  "// schemastream.js -- built from js/src/schemastream.js by js/build.mjs (esbuild); do not edit.\n";

const browser = await build({
  entryPoints: [join(here, "src", "index.js")],
  bundle: true,
  format: "esm",
  target: "es2020",
  absWorkingDir: here, // the paths esbuild writes into the output must not depend on the cwd
  legalComments: "inline",
  banner: { js: banner },
  write: false,
});
const text = browser.outputFiles[0].text;

if (check) {
  const committed = await readFile(browserBuild, "utf8").catch(() => "");
  if (committed !== text) {
    console.error(`${browserBuild} is not the build of js/src: run node js/build.mjs`);
    process.exit(1);
  }
  console.log("browser build up to date");
} else {
  if (!distOnly) await writeFile(browserBuild, text);
  await build({
    entryPoints: { index: join(here, "src", "index.js"), react: join(here, "src", "react.js") },
    bundle: true,
    absWorkingDir: here,
    splitting: true,
    format: "esm",
    target: "es2020",
    external: ["react"],
    outdir: join(here, "dist"),
    chunkNames: "core-[hash]",
  });
  console.log("built dist/" + (distOnly ? "" : ` and ${browserBuild}`));
}
