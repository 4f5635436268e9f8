// node --test: the committed browser build is the build of src/, and the declarations type-check.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

test("the browser build served by static_route() is up to date with js/src", () => {
  const out = execFileSync(process.execPath, [join(root, "build.mjs"), "--check"], { encoding: "utf8" });
  assert.match(out, /browser build up to date/);
});

test("the TypeScript declarations accept typical use and reject misuse", () => {
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  execFileSync(process.execPath, [tsc, "-p", join(root, "test", "types")], { encoding: "utf8" });
  let failed = "";
  try {
    execFileSync(process.execPath, [tsc, "-p", join(root, "test", "types", "bad")], { encoding: "utf8" });
  } catch (err) {
    failed = String(err.stdout);
  }
  assert.match(failed, /error TS2322/); // status is not a number
  assert.match(failed, /error TS2561/); // unknown subscribe option
});

test("dist/ exports the core; dist/react.js exports the hook and leaves react to the app", async () => {
  execFileSync(process.execPath, [join(root, "build.mjs"), "--dist"], { encoding: "utf8" });
  const core = await import(join(root, "dist", "index.js"));
  assert.deepEqual(Object.keys(core).sort(), ["SSEParser", "applyPatch", "getPointer", "parsePointer", "pendingRequest", "pendingStream", "subscribe"]);
  const react = readFileSync(join(root, "dist", "react.js"), "utf8");
  assert.match(react, /from "react"/);
  assert.match(react, /export \{\s*useSchemaStream\s*\}/);
});
