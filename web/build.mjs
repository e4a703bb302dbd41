// Bundle the web page into static assets: node web/build.mjs [OUTDIR] (default build/web).
// esbuild resolves uPlot from web/node_modules and writes index.html, app.js and app.css, so
// the page needs no network at run time (no CDN) and `promo serve` serves three files.
import { build } from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] || join(here, "..", "build", "web"));
mkdirSync(out, { recursive: true });

await build({
  entryPoints: { app: join(here, "src", "app.js") },
  bundle: true,
  minify: true,
  sourcemap: false,
  format: "iife",
  target: ["es2020"],
  outdir: out,
  legalComments: "eof",
  logLevel: "warning",
});
copyFileSync(join(here, "src", "index.html"), join(out, "index.html"));
console.log(`web: built ${out} (index.html, app.js, app.css)`);
