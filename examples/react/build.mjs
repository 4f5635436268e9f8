// Builds the example's pages into dist/ with esbuild, from npm packages (no CDN at run time).
// `schemastream` and `schemastream/react` are the package in ../../js (its sources); React
// always resolves from this folder's node_modules, so the hook and the app share one React.
import { build } from "esbuild";
import { cp } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const js = join(here, "..", "..", "js", "src");

const resolveHere = {
  name: "schemastream-and-one-react",
  setup(b) {
    b.onResolve({ filter: /^schemastream(\/react)?$/ }, (args) => ({
      path: join(js, args.path === "schemastream" ? "index.js" : "react.js"),
    }));
    b.onResolve({ filter: /^react(-dom)?(\/.*)?$/ }, async (args) => {
      if (args.pluginData === "here") return undefined;
      const r = await b.resolve(args.path, { kind: args.kind, resolveDir: here, pluginData: "here" });
      return r.errors.length ? { errors: r.errors } : { path: r.path };
    });
  },
};

await build({
  entryPoints: ["index", "resume", "object", "chat"].map((n) => join(here, "src", `${n}.jsx`)),
  bundle: true,
  format: "esm",
  target: "es2020",
  jsx: "automatic",
  outdir: join(here, "dist"),
  define: { "process.env.NODE_ENV": '"development"' }, // StrictMode's double effects stay on
  plugins: [resolveHere],
  logLevel: "warning",
});
await cp(join(here, "src", "style.css"), join(here, "dist", "style.css"));
console.log("built", join(here, "dist"));
