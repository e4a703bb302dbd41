// The web page in a real browser: headless Chromium (Debian's /usr/bin/chromium) driven by
// playwright-core (web/node_modules), against `promo serve` on a small trained workspace.
//
//   node tests/browser/web.test.mjs --promo build/promo --ws DIR [--web build/web] [--out out]
//   node tests/browser/web.test.mjs --url http://127.0.0.1:8099/ --key KEY   (a running server)
//
// It starts the server on a free loopback port with PROMO_API_KEY set, opens the page with
// #key=KEY, picks a product through the search box, waits for the response surface, moves the
// discount slider with the keyboard and checks that the forecast figures change and the
// campaign table fills for the new discount, downloads the CSV and checks its header and row
// count against the table, checks the optimizer's discount range is shaded on the profit-vs-
// discount chart, ranks by uplift (rows in order) and sets a budget that binds (fewer rows,
// the campaign's own figures, the optimum within the budget), opens the segments view, then opens the page with a wrong key and
// checks that the API's 401 shows the key field and the error in words. Screenshots go to
// OUT/web_page.png and OUT/web_segments.png. Exit 0 when every check holds, 1 otherwise (the
// first failed check is printed). Run by tests/test_web.c in `make test`.
import { spawn, spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import net from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];
const outDir = resolve(args.out || join(root, "out"));
const chromiumPath = process.env.PROMO_CHROMIUM || "/usr/bin/chromium";
const TIMEOUT = Number(args.timeout || 180000); // ASan server on a loaded machine: be patient

let server = null;
let serverLog = "";
let browser = null;

function log(msg) {
  process.stdout.write(`web.test: ${msg}\n`);
}
class Fail extends Error {}
function check(cond, msg) {
  if (!cond) throw new Fail(msg);
}

async function freePort() {
  return new Promise((ok, ko) => {
    const s = net.createServer();
    s.once("error", ko);
    s.listen(0, "127.0.0.1", () => {
      const p = s.address().port;
      s.close(() => ok(p));
    });
  });
}

async function waitHealth(base, deadline) {
  let last = "";
  while (Date.now() < deadline) {
    if (server && server.exitCode !== null) throw new Fail(`promo serve exited with ${server.exitCode}:\n${serverLog}`);
    try {
      const r = await fetch(base + "api/health");
      if (r.ok) return r.json();
      last = `status ${r.status}`;
    } catch (e) {
      last = e.message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Fail(`the server did not answer /api/health in time (${last}):\n${serverLog}`);
}

async function startServer() {
  for (const [k, what] of [["promo", "the promo binary"], ["ws", "the workspace"]])
    check(args[k] && existsSync(args[k]), `--${k}: ${what} ${args[k] || "(not given)"} does not exist`);
  const port = await freePort();
  const key = "web-test-" + Math.random().toString(36).slice(2);
  const web = resolve(args.web || join(root, "build", "web"));
  const argv = ["serve", "--ws", args.ws, "--port", String(port), "--bind", "127.0.0.1", "--web", web];
  log(`starting ${args.promo} ${argv.join(" ")}`);
  server = spawn(args.promo, argv, { env: { ...process.env, PROMO_API_KEY: key }, stdio: ["ignore", "pipe", "pipe"] });
  server.stdout.on("data", (d) => (serverLog += d));
  server.stderr.on("data", (d) => (serverLog += d));
  const base = `http://127.0.0.1:${port}/`;
  await waitHealth(base, Date.now() + TIMEOUT);
  return { base, key };
}

async function stopServer() {
  if (!server || server.exitCode !== null) return;
  const done = new Promise((ok) => server.once("exit", ok));
  server.kill("SIGTERM");
  const t = setTimeout(() => server.kill("SIGKILL"), 20000);
  await done;
  clearTimeout(t);
}

// RFC 4180 reader: rows of fields (quoted fields may hold commas, quotes and line breaks).
function parseCsv(text) {
  const rows = [];
  let row = [], field = "", i = 0, quoted = false;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i += 2; continue; }
      if (c === '"') { quoted = false; i++; continue; }
      field += c; i++; continue;
    }
    if (c === '"' && field === "") { quoted = true; i++; continue; }
    if (c === ",") { row.push(field); field = ""; i++; continue; }
    if (c === "\r" && text[i + 1] === "\n") i++;
    if (c === "\n" || c === "\r") { row.push(field); rows.push(row); row = []; field = ""; i++; continue; }
    field += c; i++;
  }
  if (field !== "" || row.length) { row.push(field); rows.push(row); }
  return rows;
}

const text = (page, sel) => page.locator(sel).innerText();

// Wait until sel is in the page, or the page shows an API error (then fail with its words).
async function waitOrError(page, sel, what) {
  await page.waitForFunction(
    (s) => document.querySelector(s) || !document.querySelector("#error").hidden,
    sel,
  );
  if (await page.locator(sel).count()) return;
  throw new Fail(`${what}: the page shows "${(await page.locator("#error").innerText()).replace(/\s+/g, " ").trim()}"`);
}
const NUMBER = /^[-+]?[0-9]{1,3}(,[0-9]{3})*(\.[0-9]+)?%?$/; // thousands separators, no raw floats

async function main() {
  const require = createRequire(join(root, "web", "package.json"));
  let chromium;
  try {
    ({ chromium } = require("playwright-core"));
  } catch (e) {
    throw new Fail(`playwright-core is missing from web/node_modules (run make web): ${e.message}`);
  }
  check(existsSync(chromiumPath), `${chromiumPath} is missing (Debian package chromium; make deps installs it)`);
  mkdirSync(outDir, { recursive: true });

  let base, key;
  if (args.url) {
    base = args.url.endsWith("/") ? args.url : args.url + "/";
    key = args.key || "";
  } else {
    ({ base, key } = await startServer());
  }
  const health = await (await fetch(base + "api/health")).json();
  log(`server up: ${health.customers} customers, ${health.products} products`);

  browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ["--no-sandbox"] });
  const ctx = await browser.newContext({ acceptDownloads: true, viewport: { width: 1440, height: 1000 } });
  const page = await ctx.newPage();
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));
  page.setDefaultTimeout(TIMEOUT);

  // First paint: the static page and its bundle, before any API answer.
  await page.goto(`${base}#key=${encodeURIComponent(key)}`);
  const fcp = await page.evaluate(
    () => new Promise((ok) => {
      const get = () => performance.getEntriesByName("first-contentful-paint")[0];
      if (get()) return ok(get().startTime);
      new PerformanceObserver(() => get() && ok(get().startTime)).observe({ type: "paint", buffered: true });
    }),
  );
  log(`first contentful paint ${fcp.toFixed(0)} ms (not asserted: wall-clock)`);
  check(await page.locator("#keybar").isHidden(), "the key bar shows although the URL carried #key=");

  // Pick a product through the search box.
  await page.locator("#products li[data-id]").first().waitFor();
  const first = page.locator("#products li[data-id]").first();
  const pid = await first.getAttribute("data-id");
  const pname = await first.locator(".pname").innerText();
  const pmeta = (await first.locator(".pmeta").innerText()).split(" · ");
  const pcategory = pmeta[1] || "Grocery";
  const pprice = Number((pmeta[2] || "").replace(/,/g, ""));
  const word = pname.split(/\s+/)[0];
  await page.fill("#search", word);
  const hit = page.locator(`#products li[data-id="${pid}"]`);
  await page.waitForFunction(
    (w) => [...document.querySelectorAll("#products li[data-id] .pname")].every((e) => e.textContent.toLowerCase().includes(w.toLowerCase())),
    word,
  );
  check((await hit.count()) === 1, `searching "${word}" did not list ${pid} (${pname})`);
  await hit.click();
  log(`picked ${pid} (${pname}) by searching "${word}"`);
  await waitOrError(page, "#kpis[data-state=ready]", "the response surface (POST /api/optimize)");
  check((await text(page, "#product-title")).length > 0, "no product title");

  const figures = async () => ({
    discount: await text(page, "#discount-out"),
    target: await text(page, "#target-out"),
    conv: await text(page, "#k-conv"),
    rev: await text(page, "#k-rev"),
    profit: await text(page, "#k-profit"),
    roi: await text(page, "#k-roi"),
    gap: await text(page, "#k-gap"),
  });
  const before = await figures();
  log(`at the optimum: ${JSON.stringify(before)}`);
  for (const k of ["conv", "rev", "profit", "gap"])
    check(NUMBER.test(before[k]), `figure ${k} is not a formatted number: "${before[k]}"`);
  // ROI is undefined (the API's null, shown as a dash) when the campaign costs nothing.
  check(NUMBER.test(before.roi) || before.roi === "–", `ROI is "${before.roi}"`);
  check(/^[0-9]+%$/.test(before.discount), `discount shows "${before.discount}"`);
  // The optimum's gap is 0.
  check(Number(before.gap.replace(/,/g, "")) === 0, `gap to the optimum at the optimum is ${before.gap}`);
  await waitOrError(page, "#campaign[data-state=ready]", "the campaign table (POST /api/campaign)");
  const rows0 = Number(await page.locator("#campaign").getAttribute("data-rows"));
  check(rows0 > 0, "the campaign table is empty at the optimum");

  // Move the discount slider by keyboard (input events while it moves, change on each step).
  const max = Number(await page.locator("#discount").getAttribute("max"));
  const at = Number(await page.locator("#discount").inputValue());
  const steps = Math.min(5, Math.max(at, max - at));
  const keyName = max - at >= at ? "ArrowRight" : "ArrowLeft";
  check(steps > 0, "the discount slider has a single position");
  await page.locator("#discount").focus();
  for (let s = 0; s < steps; s++) await page.keyboard.press(keyName);
  const after = await figures();
  log(`after ${steps} x ${keyName}: ${JSON.stringify(after)}`);
  check(after.discount !== before.discount, "the discount label did not move with the slider");
  check(after.profit !== before.profit, "the expected profit did not change with the discount");
  check(after.rev !== before.rev || after.conv !== before.conv, "revenue and conversions did not change with the discount");
  check(Number(after.gap.replace(/,/g, "")) >= 0, `the gap is negative: ${after.gap}`);
  // The table is rebuilt for the new discount on release.
  await page.waitForFunction(
    (d) =>
      (document.querySelector("#campaign").dataset.state === "ready" && document.querySelector("#rows-sub").textContent.includes(` at ${d} off`)) ||
      !document.querySelector("#error").hidden,
    after.discount,
  );
  check(await page.locator("#error").isHidden(), `the campaign at ${after.discount}: ${await page.locator("#error").innerText()}`);
  const nRows = Number(await page.locator("#campaign").getAttribute("data-rows"));
  const targetShown = Number(after.target.split(" of ")[0].replace(/,/g, ""));
  check(nRows > 0 && nRows <= targetShown, `${nRows} rows for a target of ${targetShown}`);
  const bodyRows = await page.locator("#campaign tbody tr[data-k]").count();
  check(bodyRows === Math.min(nRows, 500), `the table draws ${bodyRows} rows of ${nRows}`);
  const firstCells = await page.locator("#campaign tbody tr[data-k]").first().locator("td").allInnerTexts();
  check(firstCells.length === 8, `a table row has ${firstCells.length} cells, not 8`);
  check(/%$/.test(firstCells[4]) && /pts$/.test(firstCells[5]), `probability/uplift cells: ${firstCells[4]} / ${firstCells[5]}`);
  log(`table: ${nRows} rows; first ${JSON.stringify(firstCells.slice(0, 3))}`);
  check(await page.locator("#chart-discount canvas").count() === 1, "no profit-vs-discount chart");
  check(await page.locator("#chart-target canvas").count() === 1, "no profit-vs-target chart");

  // Download the CSV.
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download")]);
  const csvPath = join(outDir, "web_campaign.csv");
  await download.saveAs(csvPath);
  const csv = parseCsv(readFileSync(csvPath, "utf8"));
  const header = "customer_id,name,location,segment,probability,uplift,expected_profit,reason,product_id,discount_pct,send_day,send_hour,bundle_product_id,holdout";
  check(csv.length > 0 && csv[0].join(",") === header, `CSV header is "${csv[0] && csv[0].join(",")}"`);
  check(csv.length - 1 === nRows, `CSV has ${csv.length - 1} rows, the table ${nRows}`);
  check(csv.slice(1).every((r) => r.length === 14), "a CSV row does not have 14 fields");
  check(csv[1][0] === firstCells[0].replace(/holdout$/, "").trim(), `CSV's first customer ${csv[1][0]} is not the table's ${firstCells[0]}`);
  check(csv.slice(1).every((r) => r[8] === pid && r[9] === after.discount.replace("%", "") && /^[0-6]$/.test(r[10]) && /^([0-9]|1[0-9]|2[0-3])$/.test(r[11]) && r[12] === ""), "CSV rows name another product or discount, a send day/hour out of range, or a bundle not asked for");
  log(`CSV ${download.suggestedFilename()}: header ok, ${csv.length - 1} rows`);

  // The bundle: the table is asked again with one, and the CSV carries it on every row.
  await page.check("#bundle");
  await page.waitForFunction(
    () => (document.querySelector("#campaign").dataset.state === "ready" && /bundle/.test(document.querySelector("#rows-sub").textContent)) || !document.querySelector("#error").hidden,
  );
  check(await page.locator("#error").isHidden(), `the campaign with a bundle: ${await page.locator("#error").innerText()}`);
  const sub = await text(page, "#rows-sub");
  const m = / with (\S+)(?: \([^)]*\))? as a bundle/.exec(sub);
  check(m || /no bundle/.test(sub), `the bundle line reads "${sub}"`);
  const [download2] = await Promise.all([page.waitForEvent("download"), page.click("#download")]);
  const csvPath2 = join(outDir, "web_campaign_bundle.csv");
  await download2.saveAs(csvPath2);
  const csv2 = parseCsv(readFileSync(csvPath2, "utf8"));
  check(csv2.length - 1 === nRows, `the CSV with a bundle has ${csv2.length - 1} rows, the table ${nRows}`);
  check(csv2.slice(1).every((r) => r[12] === (m ? m[1] : "")), `the CSV's bundle_product_id is not ${m ? m[1] : "empty"}`);
  log(`bundle: ${sub.replace(/^.*?· with/, "with")}`);
  await page.screenshot({ path: join(outDir, "web_bundle.png") });
  // The downloaded file is a campaign file: promo simulate plays it, bundle included.
  if (health.generated) {
    const sim = spawnSync(args.promo, ["simulate", "--ws", args.ws, "--campaign", csvPath2], { encoding: "utf8" });
    check(sim.status === 0, `promo simulate of the page's CSV: exit ${sim.status}: ${sim.stderr}`);
    log(`simulate of the CSV: ${(sim.stdout.split("\n").find((l) => /incremental profit/.test(l)) || sim.stdout.split("\n")[0]).trim()}`);
  }
  await page.uncheck("#bundle");
  await page.waitForFunction(() => document.querySelector("#campaign").dataset.state === "ready" && !/bundle/.test(document.querySelector("#rows-sub").textContent));

  // A row opens the customer's profile (GET /api/customers/{id}).
  await page.locator("#campaign tbody tr[data-k]").first().click();
  await page.waitForFunction(() => document.querySelector("#customer").open && !/loading/.test(document.querySelector("#customer-body").textContent));
  const profile = (await text(page, "#customer-body")).replace(/\s+/g, " ");
  check(profile.includes(csv[1][0]) && profile.includes(csv[1][1]), `the profile of ${csv[1][0]} reads "${profile}"`);
  log(`profile: ${profile.slice(0, 120)}`);
  await page.keyboard.press("Escape");
  await page.waitForFunction(() => !document.querySelector("#customer").open);

  // A generated world: the forecast checked against the simulator.
  if (health.generated) {
    await page.click("#simulate");
    await page.waitForFunction(() => /simulator \(/.test(document.querySelector("#sim-out").textContent) || !document.querySelector("#error").hidden);
    check(await page.locator("#error").isHidden(), `simulate failed: ${await page.locator("#error").innerText()}`);
    log(`simulate: ${await text(page, "#sim-out")}`);
  }

  // Every customer targeted (the target slider's end): the table fills, for the screenshot
  // and the ranking checks below.
  await page.locator("#target").focus();
  await page.keyboard.press("End");
  const tmax = await text(page, "#target-out");
  await page.waitForFunction(
    (n) => (document.querySelector("#campaign").dataset.state === "ready" && Number(document.querySelector("#campaign").dataset.rows) > 1 && document.querySelector("#target-out").textContent === n) || !document.querySelector("#error").hidden,
    tmax,
  );
  check(await page.locator("#error").isHidden(), `every customer targeted: ${await page.locator("#error").innerText()}`);
  const nAll = Number(await page.locator("#campaign").getAttribute("data-rows"));
  log(`target slider at its end (${tmax}): ${nAll} rows`);

  await page.screenshot({ path: join(outDir, "web_page.png"), fullPage: true });
  log(`screenshot ${join(outDir, "web_page.png")}`);

  // The optimizer's discount range (/api/optimize's support) is shaded on the profit-vs-
  // discount chart: the page leaves the band's pixels on the element; the canvas there is
  // tinted, outside it is not (the most common colour of a pixel column, so a curve crossing
  // it does not matter).
  const band = await page.locator("#chart-discount").getAttribute("data-band");
  check(band, "no support band on the profit-vs-discount chart");
  const [bx0, bx1, by, bh] = band.split(",").map(Number);
  check(bx1 > bx0 && bh > 0, `support band ${band}`);
  const modes = await page.evaluate(([x0, x1, top, h]) => {
    const cv = document.querySelector("#chart-discount canvas");
    const g = cv.getContext("2d");
    const r = devicePixelRatio;
    const col = (x) => {
      if (x < 0 || x >= cv.width / r) return null;
      const d = g.getImageData(Math.round(x * r), Math.round(top * r), 1, Math.round(h * r)).data;
      const n = {};
      for (let i = 0; i < d.length; i += 4) n[`${d[i]},${d[i + 1]},${d[i + 2]},${d[i + 3]}`] = (n[`${d[i]},${d[i + 1]},${d[i + 2]},${d[i + 3]}`] || 0) + 1;
      return Object.entries(n).sort((a, b) => b[1] - a[1])[0][0];
    };
    const plotRight = cv.width / r;
    const outside = x1 + 12 < plotRight - 4 ? x1 + 12 : x0 - 12;
    // a third of the way in: off the grid's lines (ticks fall on round discounts)
    return { inside: col(x0 + (x1 - x0) * 0.37), outside: col(outside) };
  }, [bx0, bx1, by, bh]);
  check(modes.inside && Number(modes.inside.split(",")[3]) > 0 && modes.inside !== modes.outside, `the support band is not shaded: inside ${modes.inside}, outside ${modes.outside}`);
  const bandNote = await text(page, "#chart-discount .band-note");
  check(/[0-9]+–[0-9]+%/.test(bandNote), `the band's legend reads "${bandNote}"`);
  log(`support band at x ${bx0}..${bx1} px (${modes.inside} inside, ${modes.outside} outside): "${bandNote.slice(0, 60)}…"`);

  // Rank by uplift: the table comes back ordered by the offer's effect, and the figures are
  // the campaign's own.
  const rowsReady = (what) =>
    page.waitForFunction(
      (w) => (document.querySelector("#campaign").dataset.state === "ready" && document.querySelector("#rows-sub").textContent.includes(w)) || !document.querySelector("#error").hidden,
      what,
    );
  await page.selectOption("#rank-by", "uplift");
  await rowsReady("ranked by uplift");
  check(await page.locator("#error").isHidden(), `rank by uplift: ${await page.locator("#error").innerText()}`);
  const upl = (await page.locator("#campaign tbody tr[data-k] td:nth-child(6)").allInnerTexts()).map((t) => Number(t.replace(/[^0-9.+-]/g, "")));
  check(upl.length > 1 && upl.every((v, k) => k === 0 || v <= upl[k - 1] + 0.05), `rows ranked by uplift are not in order: ${upl.slice(0, 8).join(", ")}`);
  check((await page.locator("#kpis").getAttribute("data-source")) === "campaign", "ranked by uplift, the figures are still the surface's");
  const rowsUplift = Number(await page.locator("#campaign").getAttribute("data-rows"));
  log(`ranked by uplift: ${rowsUplift} rows, uplift ${upl.slice(0, 3).join(", ")} pts ...; ${await text(page, "#controls-note")}`);

  // A budget that binds: a third of what this campaign spends (asked of the API itself).
  const discountNow = Number(after.discount.replace("%", ""));
  const targetNow = Number(tmax.split(" of ")[0].replace(/,/g, ""));
  const full = await (await fetch(base + "api/campaign", {
    method: "POST",
    headers: { Authorization: "Bearer " + key, "Content-Type": "application/json" },
    body: JSON.stringify({ product_id: pid, discount_pct: discountNow, target: targetNow, rank_by: "uplift", rows: 0 }),
  })).json();
  const spend = full.forecast.discount_cost + full.forecast.contact_cost;
  const budget = Math.floor(spend / 3);
  check(budget > 0, `the campaign spends ${spend}: no budget to test`);
  await page.fill("#budget", String(budget));
  await rowsReady("budget reached");
  check(await page.locator("#error").isHidden(), `budget ${budget}: ${await page.locator("#error").innerText()}`);
  const rowsBudget = Number(await page.locator("#campaign").getAttribute("data-rows"));
  const note = await text(page, "#controls-note");
  check(rowsBudget > 0 && rowsBudget < rowsUplift, `a budget of ${budget} (a third of ${spend.toFixed(0)}) left ${rowsBudget} of ${rowsUplift} rows`);
  check(/budget used/.test(note) && /stops the list/.test(note), `the note under a budget reads "${note}"`);
  check(/within the budget/.test(await text(page, "#k-opt")), "the optimum is not the one within the budget");
  log(`budget ${budget} of ${spend.toFixed(0)}: ${rowsBudget} rows; ${note}`);
  await page.screenshot({ path: join(outDir, "web_budget.png"), fullPage: true });
  // Back to the defaults: the surface's figures again.
  await page.fill("#budget", "");
  await page.selectOption("#rank-by", "profit");
  await rowsReady("ranked by profit");
  await page.waitForFunction(() => document.querySelector("#kpis").dataset.source === "surface");
  check(Number(await page.locator("#campaign").getAttribute("data-rows")) === nAll, "the defaults do not give the same table back");

  // The segments view.
  await page.click('.views button[data-view="segments"]');
  await page.waitForFunction(() => !/loading/.test(document.querySelector("#segments tbody").textContent));
  const segRows = await page.locator("#segments tbody tr").count();
  const segText = await text(page, "#segments tbody");
  log(`segments view: ${segRows} rows (${segText.split("\n")[0].slice(0, 80)})`);
  check(segRows > 0 && !/could not be loaded/.test(segText), `the segments view failed: ${segText}`);
  await page.screenshot({ path: join(outDir, "web_segments.png"), fullPage: true });

  // Describe a new product: its neighbours and a suggested campaign.
  await page.click('.views button[data-view="campaign"]');
  await page.click('.subtabs button[data-pick="new"]');
  await page.fill('#pick-new input[name="name"]', `${pname} Family Pack`);
  await page.fill('#pick-new input[name="category"]', pcategory);
  await page.fill('#pick-new input[name="price"]', String(Math.round(pprice * 1.5) || 500));
  await page.click('#pick-new button[type="submit"]');
  await page.waitForFunction(() => document.querySelector("#similar li[data-i]") || !document.querySelector("#error").hidden);
  check(await page.locator("#error").isHidden(), `similar products failed: ${await page.locator("#error").innerText()}`);
  const neighbours = await page.locator("#similar li[data-i] .pname").allInnerTexts();
  check(neighbours.length > 0, "no neighbour listed for a new product");
  const suggestion = (await page.locator("#similar .suggest").innerText().catch(() => "")).replace(/\s+/g, " ");
  log(`new product "${pname} Family Pack" (${pcategory}): ${neighbours.length} neighbours, first "${neighbours[0]}"; ${suggestion || "no suggested campaign"}`);
  await page.screenshot({ path: join(outDir, "web_new_product.png") });
  check(pageErrors.length === 0, `errors in the page: ${pageErrors.join("; ")}`);

  // A wrong key: the 401's message in words and the key field.
  const ctx2 = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  const page2 = await ctx2.newPage();
  page2.setDefaultTimeout(TIMEOUT);
  await page2.goto(`${base}#key=wrong-key`);
  await page2.locator("#products li[data-id]").first().click();
  await page2.locator("#error:not([hidden])").waitFor();
  const err = await page2.locator("#error").innerText();
  check((await page2.locator("#error").getAttribute("data-status")) === "401", `expected a 401, got: ${err}`);
  check(await page2.locator("#keybar").isVisible(), "a 401 did not show the key field");
  log(`wrong key: "${err.replace(/\s+/g, " ").trim()}", key field shown`);
  // Pasting the right key recovers.
  if (key) {
    await page2.fill("#key-input", key);
    await page2.click("#key-form button");
    await page2.locator("#kpis[data-state=ready]").waitFor();
    check(await page2.locator("#keybar").isHidden(), "the key bar stayed after a good key");
    log("the right key pasted: the surface loads");
  }
  await ctx2.close();
}

let code = 0;
try {
  await main();
  log("ok");
} catch (e) {
  code = 1;
  log(`FAIL: ${e instanceof Fail ? e.message : e.stack || e}`);
} finally {
  if (browser) await browser.close().catch(() => {});
  await stopServer();
  if (server) {
    if (/AddressSanitizer|runtime error:|LeakSanitizer/.test(serverLog)) {
      code = 1;
      log(`FAIL: the server reported a sanitizer error:\n${serverLog}`);
    }
    log(`promo serve exited with ${server.exitCode ?? server.signalCode}`);
  }
}
process.exit(code);
