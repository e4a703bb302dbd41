// The web page's first paint on a large workspace (issue 17: under 1 s on localhost with
// 1,000,000 customers): starts `promo serve` on WS, opens the page in headless Chromium
// (playwright-core from web/node_modules) RUNS times with a cold browser each time and prints
// one JSON line: first contentful paint, when the product list (GET /api/products) and the
// header (GET /api/health) were filled, median over the runs; the reference is the same page
// opened from the files (file://, no server, API calls fail), measured in the same run.
//   node bench/web_paint.mjs --promo build/promo --ws DIR [--web build/web] [--runs 5]
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import net from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];
const runs = Number(args.runs || 5);
const web = resolve(args.web || join(root, "build", "web"));
const { chromium } = createRequire(join(root, "web", "package.json"))("playwright-core");

const port = await new Promise((ok) => {
  const s = net.createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => ok(p)); });
});
let log = "";
const srv = spawn(args.promo, ["serve", "--ws", args.ws, "--port", String(port), "--web", web, "--no-log"], {
  env: { ...process.env, PROMO_API_KEY: "bench" }, stdio: ["ignore", "pipe", "pipe"],
});
srv.stdout.on("data", (d) => (log += d));
srv.stderr.on("data", (d) => (log += d));
const base = `http://127.0.0.1:${port}/`;
let health = null;
const t0 = Date.now();
while (!health) {
  if (srv.exitCode !== null) { console.error(log); process.exit(1); }
  try { const r = await fetch(base + "api/health"); if (r.ok) health = await r.json(); } catch (_) { await new Promise((r) => setTimeout(r, 100)); }
}
const startMs = Date.now() - t0;

async function measure(url, wait) {
  const browser = await chromium.launch({ executablePath: process.env.PROMO_CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox"] });
  const page = await browser.newPage();
  await page.goto(url);
  const r = await page.evaluate(async (w) => {
    const fcp = await new Promise((ok) => {
      const get = () => performance.getEntriesByName("first-contentful-paint")[0];
      if (get()) return ok(get().startTime);
      new PerformanceObserver(() => get() && ok(get().startTime)).observe({ type: "paint", buffered: true });
    });
    const until = (f) => new Promise((ok) => { const t = () => (f() ? ok(performance.now()) : setTimeout(t, 5)); t(); });
    const out = { fcp };
    if (w) {
      out.products = await until(() => document.querySelector("#products li[data-id]"));
      out.health = await until(() => /customers/.test(document.querySelector("#health").textContent));
    }
    return out;
  }, wait);
  await browser.close();
  return r;
}
const med = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const served = [], files = [];
for (let k = 0; k < runs; k++) {
  served.push(await measure(base, true));
  files.push(await measure("file://" + join(web, "index.html"), false));
}
srv.kill("SIGTERM");
console.log(JSON.stringify({
  bench: "web_paint", customers: health.customers, products: health.products, runs,
  server_start_ms: startMs,
  fcp_ms: Math.round(med(served.map((r) => r.fcp))),
  products_listed_ms: Math.round(med(served.map((r) => r.products))),
  health_shown_ms: Math.round(med(served.map((r) => r.health))),
  reference_fcp_file_ms: Math.round(med(files.map((r) => r.fcp))),
}));
