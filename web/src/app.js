// promo web page: vanilla JS over the JSON API of `promo serve` (API_CONTRACT), charts by uPlot.
//
// The page paints from static HTML at once; every figure comes from the API afterwards. For a
// product, POST /api/optimize is asked once (the heavy call) and the sliders read the figures
// from its response surface locally, so moving a slider costs no request; releasing a slider
// asks POST /api/campaign for the customer table. Stale answers (an older product or slider
// position) are dropped by sequence numbers.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import "./style.css";

const $ = (id) => document.getElementById(id);
const KEY_STORE = "promo_api_key";
const MAX_TABLE_ROWS = 500; // rows drawn in the table; the CSV has every row the API returned
const MAX_ROWS = 10000; // the contract's cap on rows per campaign answer

// ---- formatting ----------------------------------------------------------------------------
const fmt0 = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const fmt1 = new Intl.NumberFormat("en-US", { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const fmt2 = new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const isNum = (v) => typeof v === "number" && Number.isFinite(v);
const money = (v) => (!isNum(v) ? "–" : Math.abs(v) >= 100 || v === 0 ? fmt0.format(v) : fmt2.format(v));
// Axis ticks: whole numbers unless the scale is small.
const tick = (v) => (Math.abs(v) >= 10 || Number.isInteger(v) ? fmt0.format(v) : fmt2.format(v));
const count = (v) => (!isNum(v) ? "–" : Math.abs(v) >= 100 ? fmt0.format(v) : fmt1.format(v));
const int = (v) => (!isNum(v) ? "–" : fmt0.format(v));
const pct = (ratio) => (!isNum(ratio) ? "–" : fmt1.format(ratio * 100) + "%");
const pts = (ratio) => (!isNum(ratio) ? "–" : (ratio >= 0 ? "+" : "") + fmt1.format(ratio * 100) + " pts");
const esc = (s) =>
  String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

// ---- the API -------------------------------------------------------------------------------
class ApiError extends Error {
  constructor(status, field, message) {
    super(message);
    this.status = status;
    this.field = field;
  }
}

const state = {
  key: "",
  product: null, // {product_id, name, ...}
  surface: null, // the /api/optimize answer
  di: 0, // discount index into surface.discounts
  ti: 0, // target index into surface.targets
  seqProduct: 0,
  seqCampaign: 0,
  rows: [],
  campaign: null,
  charts: { discount: null, target: null },
};

function readKey() {
  const m = /(?:^#|&)key=([^&]*)/.exec(location.hash);
  if (m && m[1]) {
    const k = decodeURIComponent(m[1]);
    try { localStorage.setItem(KEY_STORE, k); } catch (_) { /* private mode: keep it in memory */ }
    return k;
  }
  try { return localStorage.getItem(KEY_STORE) || ""; } catch (_) { return ""; }
}

async function api(method, path, body) {
  const init = { method, headers: {} };
  if (method === "POST") {
    if (!state.key) {
      showKeyBar("This action needs the API key.");
      throw new ApiError(401, null, "no API key: paste the key that promo serve printed");
    }
    init.headers["Authorization"] = "Bearer " + state.key;
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body ?? {});
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, null, "cannot reach the server (" + e.message + ")");
  }
  let data = null;
  try { data = await res.json(); } catch (_) { /* a non-JSON answer: reported below */ }
  if (!res.ok) {
    const err = (data && data.error) || {};
    const msg = err.message || `the server answered ${res.status} ${res.statusText}`;
    if (res.status === 401) showKeyBar("The server refused the key: " + msg);
    throw new ApiError(res.status, err.field ?? null, msg);
  }
  if (data === null) throw new ApiError(res.status, null, "the server's answer is not JSON");
  return data;
}

function showError(what, e) {
  const box = $("error");
  if (!e) {
    box.hidden = true;
    box.textContent = "";
    return;
  }
  let html = `<strong>${esc(what)}:</strong> `;
  if (e.status === 409) html += `a model is missing. Train it with <code>${esc(e.message)}</code>`;
  else html += esc(e.message) + (e.field ? ` <span class="muted">(field ${esc(e.field)})</span>` : "");
  box.innerHTML = html;
  box.hidden = false;
  box.dataset.status = String(e.status ?? "");
}

function showKeyBar(msg) {
  $("keybar").hidden = false;
  $("key-msg").textContent = msg || "";
  $("key-input").focus();
}

// ---- health, products, segments ------------------------------------------------------------
async function loadHealth() {
  try {
    const h = await api("GET", "/api/health");
    const models = Object.entries(h.models || {})
      .map(([k, v]) => `${k} ${v ? "✓" : "✗"}`)
      .join(" · ");
    $("health").textContent = `${int(h.customers)} customers · ${int(h.products)} products · ${models}`;
    $("health").title = h.workspace || "";
    $("simulate").hidden = !h.generated;
  } catch (e) {
    $("health").textContent = "server not reachable";
    showError("Health check", e);
  }
}

let searchSeq = 0;
async function searchProducts(query) {
  const seq = ++searchSeq;
  const list = $("products");
  try {
    const q = new URLSearchParams({ query, limit: "30" });
    const data = await api("GET", "/api/products?" + q);
    if (seq !== searchSeq) return;
    const ps = data.products || [];
    if (!ps.length) {
      list.innerHTML = `<li class="muted">No product matches “${esc(query)}”.</li>`;
      return;
    }
    list.innerHTML = ps
      .map(
        (p, i) =>
          `<li data-i="${i}" data-id="${esc(p.product_id)}"${state.product && state.product.product_id === p.product_id ? ' class="selected"' : ""}>` +
          `<span class="pname">${esc(p.name)}</span>` +
          `<span class="pmeta">${esc(p.product_id)} · ${esc(p.category)} · ${money(p.price)}` +
          (isNum(p.orders) ? ` · ${int(p.orders)} orders` : "") +
          `</span></li>`,
      )
      .join("");
    list.querySelectorAll("li[data-i]").forEach((li) =>
      li.addEventListener("click", () => selectProduct(ps[Number(li.dataset.i)])),
    );
  } catch (e) {
    if (seq !== searchSeq) return;
    list.innerHTML = `<li class="muted">Products could not be loaded.</li>`;
    showError("Product search", e);
  }
}

async function loadSegments() {
  const body = $("segments").tBodies[0];
  try {
    const data = await api("GET", "/api/segments");
    const segs = data.segments || [];
    if (!segs.length) {
      body.innerHTML = `<tr><td colspan="7" class="muted">No segments yet: run promo segment.</td></tr>`;
      return;
    }
    const maxShare = Math.max(...segs.map((s) => s.share || 0), 1e-9);
    body.innerHTML = segs
      .map(
        (s) =>
          `<tr><td>${s.id < 0 ? "–" : esc(s.id)}</td><td>${s.persona ? esc(s.persona) : '<span class="muted">not segmented (no purchase yet)</span>'}</td>` +
          `<td>${s.tier ? `<span class="tier tier-${esc(String(s.tier).toLowerCase())}">${esc(s.tier)}</span>` : "–"}</td>` +
          `<td class="num">${int(s.customers)}</td>` +
          `<td class="barcell"><div class="track"><div class="bar" style="width:${(100 * (s.share || 0)) / maxShare}%"></div></div><span class="muted">${pct(s.share)}</span></td>` +
          `<td class="num">${money(s.mean_spend)}</td><td class="num">${count(s.mean_orders)}</td></tr>`,
      )
      .join("");
  } catch (e) {
    body.innerHTML = `<tr><td colspan="7" class="muted">Segments could not be loaded: ${esc(e.message)}</td></tr>`;
  }
}

// ---- a product: the response surface --------------------------------------------------------
function setKpisLoading(msg) {
  $("kpis").dataset.state = "loading";
  for (const id of ["k-conv", "k-rev", "k-profit", "k-roi", "k-gap"]) $(id).textContent = "…";
  for (const id of ["k-conv-note", "k-interval", "k-opt"]) $(id).textContent = "";
  $("k-opt").textContent = msg || "";
}

async function selectProduct(p) {
  const seq = ++state.seqProduct;
  state.product = p;
  state.surface = null;
  state.campaign = null;
  state.rows = [];
  showError(null);
  document.querySelectorAll("#products li").forEach((li) =>
    li.classList.toggle("selected", li.dataset.id === p.product_id),
  );
  $("product-title").textContent = p.name || p.product_id;
  // One column (a narrow window): bring the planner into view.
  if (window.matchMedia("(max-width: 1100px)").matches) document.querySelector(".planner").scrollIntoView({ behavior: "smooth" });
  $("product-sub").textContent =
    `${p.product_id}` + (p.category ? ` · ${p.category}` : "") + (isNum(p.price) ? ` · price ${money(p.price)}` : "");
  for (const id of ["discount", "target", "to-optimum", "download", "simulate", "rank-by", "budget", "bundle"]) $(id).disabled = true;
  $("sim-out").textContent = "";
  setKpisLoading("computing the response surface…");
  document.querySelector(".charts").classList.add("stale");
  renderTable([], null);
  try {
    const s = await api("POST", "/api/optimize", { product_id: p.product_id });
    if (seq !== state.seqProduct) return;
    state.surface = s;
    if (s.product_name) $("product-title").textContent = s.product_name;
    const d = $("discount"), t = $("target");
    d.max = String(s.discounts.length - 1);
    t.max = String(s.targets.length - 1);
    const [oi, oj] = optimumIndex(s);
    setIndices(oi, oj);
    d.disabled = t.disabled = $("to-optimum").disabled = $("simulate").disabled = false;
    $("rank-by").disabled = $("budget").disabled = $("bundle").disabled = false;
    requestCampaign();
  } catch (e) {
    if (seq !== state.seqProduct) return;
    $("kpis").dataset.state = "error";
    $("k-opt").textContent = "";
    for (const id of ["k-conv", "k-rev", "k-profit", "k-roi", "k-gap"]) $(id).textContent = "–";
    showError("Could not compute the response surface", e);
  }
}

function nearest(arr, v) {
  let best = 0;
  for (let i = 1; i < arr.length; i++) if (Math.abs(arr[i] - v) < Math.abs(arr[best] - v)) best = i;
  return best;
}

function optimumIndex(s) {
  const o = s.optimum || {};
  return [nearest(s.discounts, o.discount_pct ?? 0), nearest(s.targets, o.target ?? s.targets[0])];
}

function setIndices(i, j) {
  state.di = i;
  state.ti = j;
  $("discount").value = String(i);
  $("target").value = String(j);
  updateFigures();
}

// Everything a slider move changes, read from the surface: no request.
function updateFigures() {
  const s = state.surface;
  if (!s) return;
  const i = state.di, j = state.ti;
  const at = (m) => (s[m] && s[m][i] ? s[m][i][j] : NaN);
  const profit = at("profit");
  const o = s.optimum || {};
  $("discount-out").textContent = `${fmt0.format(s.discounts[i])}%`;
  $("target-out").textContent = `${int(s.targets[j])} of ${int(s.n_customers)}`;
  $("kpis").dataset.state = "ready";
  $("k-conv").textContent = count(at("conversions"));
  const inc = at("incremental_conversions");
  $("k-conv-note").textContent = isNum(inc) ? `${count(inc)} because of the offer` : "";
  $("k-rev").textContent = money(at("revenue"));
  const kp = $("k-profit");
  kp.textContent = money(profit);
  kp.className = "kpi-value " + (profit < 0 ? "neg" : "");
  $("k-roi").textContent = pct(at("roi"));
  const gap = (o.incremental_profit ?? NaN) - profit;
  $("k-gap").textContent = money(Math.max(0, gap));
  $("k-opt").textContent = `optimum ${money(o.incremental_profit)} at ${fmt0.format(o.discount_pct)}% to ${int(o.target)}`;
  $("kpis").dataset.source = "surface";
  $("k-interval").textContent = "";
  $("sim-out").textContent = "";
  document.querySelector(".charts").classList.remove("stale");
  drawCharts();
}

// ---- charts ---------------------------------------------------------------------------------
const COLORS = { now: "#0f766e", opt: "#c2410c", faint: "#9aa5b1", band: "rgba(15, 118, 110, 0.09)" };

// The discounts the optimum was sought among (the promotions log's range, /api/optimize's
// `support`): outside it the model extrapolates. Shaded behind the grid and the curves; the
// band's canvas pixels are left on the element (data-band) for the browser test.
function bandPlugin(getBand) {
  return {
    hooks: {
      drawClear: (u) => {
        const b = getBand();
        const el = u.root.parentElement;
        if (!b || !isNum(b[0]) || !isNum(b[1])) {
          if (el) delete el.dataset.band;
          return;
        }
        const lo = Math.max(b[0], u.scales.x.min), hi = Math.min(b[1], u.scales.x.max);
        if (!(hi >= lo)) return;
        const x0 = u.valToPos(lo, "x", true), x1 = u.valToPos(hi, "x", true);
        u.ctx.save();
        u.ctx.fillStyle = COLORS.band;
        u.ctx.fillRect(x0, u.bbox.top, Math.max(1, x1 - x0), u.bbox.height);
        u.ctx.restore();
        if (el) el.dataset.band = [x0, x1, u.bbox.top, u.bbox.height].map((v) => Math.round(v / devicePixelRatio)).join(",");
      },
    },
  };
}

// Markers drawn over a uPlot chart: the optimum (orange ring) and the current point (teal dot
// with a vertical guide), in data coordinates.
function markerPlugin(getMarks) {
  return {
    hooks: {
      draw: (u) => {
        const ctx = u.ctx;
        const marks = getMarks();
        ctx.save();
        for (const m of marks) {
          if (!isNum(m.x) || !isNum(m.y)) continue;
          ctx.setLineDash([]);
          const x = u.valToPos(m.x, "x", true), y = u.valToPos(m.y, "y", true);
          if (m.guide) {
            ctx.strokeStyle = m.color;
            ctx.globalAlpha = 0.35;
            ctx.lineWidth = 1 * devicePixelRatio;
            ctx.setLineDash([4 * devicePixelRatio, 4 * devicePixelRatio]);
            ctx.beginPath();
            ctx.moveTo(x, u.bbox.top);
            ctx.lineTo(x, u.bbox.top + u.bbox.height);
            ctx.stroke();
            ctx.setLineDash([]);
            ctx.globalAlpha = 1;
          }
          ctx.beginPath();
          ctx.arc(x, y, (m.r || 5) * devicePixelRatio, 0, 2 * Math.PI);
          if (m.ring) {
            ctx.lineWidth = 2.5 * devicePixelRatio;
            ctx.strokeStyle = m.color;
            ctx.stroke();
          } else {
            ctx.fillStyle = m.color;
            ctx.fill();
          }
        }
        ctx.restore();
      },
    },
  };
}

function makeChart(el, xLabel, xFmt, getMarks, getBand) {
  el.innerHTML =
    `<div class="legend-note"><i style="background:${COLORS.now};border-radius:0;height:3px;width:16px"></i>at the current setting` +
    `<i style="background:${COLORS.faint};border-radius:0;height:2px;width:16px"></i>at the optimum's setting` +
    `<i style="border:2px solid ${COLORS.opt};background:none"></i>optimum` +
    `<i style="background:${COLORS.now}"></i>current` +
    (getBand ? `<i style="background:${COLORS.band};border:1px solid #b7d7d3;border-radius:0;width:14px"></i><span class="band-note"></span>` : "") +
    `</div>`;
  const width = Math.max(280, el.clientWidth || 400);
  return new uPlot(
    {
      width,
      height: 250,
      legend: { show: false },
      cursor: { drag: { x: false, y: false }, points: { show: false } },
      scales: { x: { time: false } },
      axes: [
        { label: xLabel, values: (u, vals) => vals.map(xFmt), stroke: "#6b7785", grid: { stroke: "#eef0f3" } },
        { label: "incremental profit", values: (u, vals) => vals.map(tick), size: 70, stroke: "#6b7785", grid: { stroke: "#eef0f3" } },
      ],
      series: [
        {},
        { label: "at the current setting", stroke: COLORS.now, width: 2, points: { show: false } },
        { label: "at the optimum's setting", stroke: COLORS.faint, width: 1.5, dash: [5, 4], points: { show: false } },
      ],
      plugins: getBand ? [bandPlugin(getBand), markerPlugin(getMarks)] : [markerPlugin(getMarks)],
    },
    [[], [], []],
    el,
  );
}

function drawCharts() {
  const s = state.surface;
  if (!s) return;
  const i = state.di, j = state.ti;
  const [oi, oj] = optimumIndex(s);
  const o = s.optimum || {};
  if (!state.charts.discount) {
    state.charts.discount = makeChart($("chart-discount"), "discount %", (v) => v + "%", () => {
      const t = state.surface;
      return [
        { x: t.optimum.discount_pct, y: t.optimum.incremental_profit, color: COLORS.opt, ring: true, r: 7 },
        { x: t.discounts[state.di], y: t.profit[state.di][state.ti], color: COLORS.now, guide: true },
      ];
    }, () => state.surface && state.surface.support);
    state.charts.target = makeChart($("chart-target"), "customers targeted", int, () => {
      const t = state.surface;
      return [
        { x: t.optimum.target, y: t.optimum.incremental_profit, color: COLORS.opt, ring: true, r: 7 },
        { x: t.targets[state.ti], y: t.profit[state.di][state.ti], color: COLORS.now, guide: true },
      ];
    });
  }
  const byDiscount = s.discounts.map((_, k) => s.profit[k][j]);
  const byDiscountOpt = s.discounts.map((_, k) => s.profit[k][oj]);
  const byTarget = s.profit[i];
  const byTargetOpt = s.profit[oi];
  state.charts.discount.setData([s.discounts, byDiscount, byDiscountOpt]);
  state.charts.target.setData([s.targets, byTarget, byTargetOpt]);
  $("c1-sub").textContent = `· ${int(s.targets[j])} customers (optimum ${int(o.target)})`;
  const bn = document.querySelector("#chart-discount .band-note");
  if (bn)
    bn.textContent = Array.isArray(s.support)
      ? `the log's discounts (${fmt0.format(s.support[0])}–${fmt0.format(s.support[1])}%): the optimum is sought there`
      : "";
  $("c2-sub").textContent = `· ${fmt0.format(s.discounts[i])}% off (optimum ${fmt0.format(o.discount_pct)}%)`;
}

function resizeCharts() {
  for (const [k, id] of [["discount", "chart-discount"], ["target", "chart-target"]]) {
    const c = state.charts[k];
    if (c) c.setSize({ width: Math.max(280, $(id).clientWidth), height: 250 });
  }
}

// ---- the campaign table ---------------------------------------------------------------------
async function requestCampaign() {
  const s = state.surface;
  if (!s) return;
  const seq = ++state.seqCampaign;
  const discount = s.discounts[state.di], target = s.targets[state.ti];
  $("download").disabled = true;
  $("sim-out").textContent = "";
  if (!(target > 0)) {
    state.campaign = null;
    state.rows = [];
    renderTable([], null);
    $("rows-sub").textContent = "· no customer targeted";
    return;
  }
  $("rows-sub").textContent = "· loading…";
  $("campaign").dataset.state = "loading";
  try {
    const req = {
      product_id: s.product_id,
      discount_pct: discount,
      target,
      rank_by: $("rank-by").value,
      rows: Math.min(target, MAX_ROWS),
    };
    const budget = $("budget").value.trim();
    if (budget !== "") req.budget = Number(budget); // a bad number: the API names the field
    if ($("bundle").checked) req.bundle = "auto";
    const c = await api("POST", "/api/campaign", req);
    if (seq !== state.seqCampaign) return;
    state.campaign = c;
    state.rows = c.rows || [];
    renderTable(state.rows, c);
    const f = c.forecast || {};
    // The surface ranks by profit without a budget: under another ranking or a budget the
    // campaign's own forecast (and its optimum under the budget) are the figures.
    if (req.rank_by !== "profit" || "budget" in req) showCampaignFigures(c);
    else {
      $("controls-note").textContent = "";
      if ($("kpis").dataset.source === "campaign") updateFigures(); // back to the surface's
    }
    if (Array.isArray(f.profit_interval))
      $("k-interval").textContent = `interval ${money(f.profit_interval[0])} to ${money(f.profit_interval[1])}`;
    $("download").disabled = state.rows.length === 0;
    showError(null);
  } catch (e) {
    if (seq !== state.seqCampaign) return;
    $("rows-sub").textContent = "";
    $("campaign").dataset.state = "error";
    showError("Could not build the campaign", e);
  }
}

function showCampaignFigures(c) {
  const f = c.forecast || {};
  const o = c.optimum || {};
  $("kpis").dataset.source = "campaign";
  $("k-conv").textContent = count(f.expected_conversions);
  $("k-conv-note").textContent = isNum(f.incremental_conversions) ? `${count(f.incremental_conversions)} because of the offer` : "";
  $("k-rev").textContent = money(f.incremental_revenue);
  const kp = $("k-profit");
  kp.textContent = money(f.incremental_profit);
  kp.className = "kpi-value " + (f.incremental_profit < 0 ? "neg" : "");
  $("k-roi").textContent = pct(f.roi);
  $("k-gap").textContent = money(Math.max(0, c.gap_to_optimum ?? NaN));
  $("k-opt").textContent = isNum(o.incremental_profit)
    ? `optimum${$("budget").value.trim() !== "" ? " within the budget" : ""} ${money(o.incremental_profit)} at ${fmt0.format(o.discount_pct)}% to ${int(o.target)}`
    : "";
  const spent = (f.discount_cost ?? 0) + (f.contact_cost ?? 0);
  $("controls-note").textContent =
    `figures of this campaign: ${int(f.contacts)} contacted, ranked by ${c.rank_by}` +
    ($("budget").value.trim() !== "" ? `, ${money(spent)} of the budget used` : "") +
    (c.budget_bound ? " (the budget stops the list)" : "");
}

function renderTable(rows, c) {
  const body = $("campaign").tBodies[0];
  $("campaign").dataset.rows = String(rows.length);
  if (!c) {
    $("rows-sub").textContent = "";
    body.innerHTML = `<tr><td colspan="8" class="muted">The targeted customers appear here.</td></tr>`;
    $("campaign").dataset.state = "empty";
    return;
  }
  $("campaign").dataset.state = "ready";
  const shown = rows.slice(0, MAX_TABLE_ROWS);
  const held = rows.filter((r) => r.holdout).length;
  $("rows-sub").textContent =
    `· ${int(rows.length)} customers at ${fmt0.format(c.discount_pct)}% off, ranked by ${c.rank_by || "profit"}` +
    bundleText(c.bundle) +
    (c.budget_bound ? " · budget reached" : "") +
    (held ? ` (${int(held)} held out as control)` : "") +
    (rows.length > shown.length ? ` · first ${int(shown.length)} shown, all in the CSV` : "");
  if (!rows.length) {
    body.innerHTML = `<tr><td colspan="8" class="muted">No customer is expected to be worth the offer.</td></tr>`;
    return;
  }
  body.innerHTML = shown
    .map(
      (r, k) =>
        `<tr data-k="${k}"><td>${esc(r.customer_id)}${r.holdout ? '<span class="tag">holdout</span>' : ""}</td>` +
        `<td>${esc(r.name)}</td><td>${esc(r.location)}</td><td>${esc(r.segment ?? "–")}</td>` +
        `<td class="num">${pct(r.probability)}</td><td class="num">${pts(r.uplift)}</td>` +
        `<td class="num ${r.expected_profit < 0 ? "neg" : ""}">${money(r.expected_profit)}</td>` +
        `<td class="reason">${esc(r.reason)}</td></tr>`,
    )
    .join("");
}

async function showCustomer(id) {
  const dlg = $("customer");
  $("customer-body").innerHTML = `<p class="muted">loading ${esc(id)}…</p>`;
  if (!dlg.open) dlg.showModal();
  try {
    const c = await api("GET", "/api/customers/" + encodeURIComponent(id));
    const recs = (c.recommendations || []).map((r) => `<li>${esc(r.name)} <span class="muted">${esc(r.product_id)}</span></li>`).join("");
    const reasons = (c.reasons || []).map((r) => `<li>${esc(r)}</li>`).join("");
    $("customer-body").innerHTML =
      `<h2>${esc(c.name)} <span class="muted">${esc(c.customer_id)}</span></h2>` +
      `<p>${esc(c.location)} · ${c.segment ? esc(c.segment.persona) : "no segment"}` +
      (c.tier ? ` · <span class="tier tier-${esc(c.tier)}">${esc(c.tier)}</span>` : "") +
      (isNum(c.clv) ? ` · lifetime value ${money(c.clv)}` : "") + `</p>` +
      (reasons ? `<h3>Why</h3><ul>${reasons}</ul>` : "") +
      (recs ? `<h3>Top recommendations</h3><ul>${recs}</ul>` : "");
  } catch (e) {
    $("customer-body").innerHTML = `<p class="error">${esc(e.message)}</p>`;
  }
}

// RFC 4180: fields with a comma, a quote, CR or LF are quoted, quotes doubled; CRLF line ends.
function csvField(v) {
  const s = v === null || v === undefined ? "" : String(v);
  return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
}

// " · with P (name) as a bundle: in 34% of its orders, lift 2.1", or why there is none.
function bundleText(b) {
  if (!b) return "";
  if (!b.product_id) return ` · no bundle: ${b.note}`;
  return (
    ` · with ${b.product_id}${b.product_name ? ` (${b.product_name})` : ""} as a bundle` +
    (b.together ? `: in ${fmt0.format(100 * b.confidence)}% of its orders, lift ${b.lift.toFixed(2)}` : ": never bought with it")
  );
}

// The file promo simulate and a CRM read: the CLI's campaign columns (bundle_product_id empty
// without a bundle) and the page's figures.
function campaignCsv(rows, productId, discount, bundleId) {
  const head = ["customer_id", "name", "location", "segment", "probability", "uplift", "expected_profit", "reason", "product_id", "discount_pct", "send_day", "send_hour", "bundle_product_id", "holdout"];
  const lines = [head.join(",")];
  for (const r of rows)
    lines.push(
      [r.customer_id, r.name, r.location, r.segment, r.probability, r.uplift, r.expected_profit, r.reason, productId, discount, r.send_day, r.send_hour, bundleId || "", r.holdout ? 1 : 0]
        .map(csvField)
        .join(","),
    );
  return lines.join("\r\n") + "\r\n";
}

function downloadCsv() {
  const c = state.campaign;
  if (!c) return;
  const blob = new Blob([campaignCsv(state.rows, c.product_id, c.discount_pct, c.bundle && c.bundle.product_id)], { type: "text/csv;charset=utf-8" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = `campaign_${c.product_id}_${c.discount_pct}pct_${c.target}.csv`;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

// The simulator knows a generated world's true responses: the forecast can be checked.
async function simulate() {
  const s = state.surface;
  if (!s) return;
  const out = $("sim-out");
  out.textContent = "simulating…";
  try {
    const r = await api("POST", "/api/simulate", {
      product_id: s.product_id,
      discount_pct: s.discounts[state.di],
      target: s.targets[state.ti],
    });
    const iv = r.interval && r.interval.incremental_profit;
    out.textContent =
      `The simulator (this generated world's true responses): incremental profit ${money(r.incremental_profit)}` +
      (Array.isArray(iv) ? ` (${money(iv[0])} to ${money(iv[1])})` : "") +
      `, ${count(r.conversions)} conversions, ROI ${pct(r.roi)}.`;
  } catch (e) {
    out.textContent = "";
    showError("Could not simulate", e);
  }
}

// ---- a new product ---------------------------------------------------------------------------
async function describeNew(ev) {
  ev.preventDefault();
  const f = new FormData($("pick-new"));
  const out = $("similar");
  const price = Number(f.get("price"));
  out.innerHTML = `<p class="muted">looking for similar products…</p>`;
  try {
    const r = await api("POST", "/api/similar-products", {
      name: String(f.get("name")).trim(),
      category: String(f.get("category")).trim(),
      price,
      k: 8,
    });
    const ns = r.neighbours || [];
    const sc = r.suggested_campaign;
    let html = `<h3>Closest products</h3><ul class="products">` +
      ns.map((n, i) =>
        `<li data-i="${i}"><span class="pname">${esc(n.name)}</span>` +
        `<span class="pmeta">${esc(n.product_id)} · ${esc(n.category)} · ${money(n.price)} · similarity ${fmt2.format(n.similarity)}</span></li>`).join("") +
      `</ul>`;
    if (sc) {
      const fc = sc.forecast || {};
      const near = ns.find((x) => x.product_id === sc.product_id);
      html += `<h3>Suggested campaign</h3><div class="suggest">Offer ${esc(near ? near.name : sc.product_id)} at <strong>${fmt0.format(sc.discount_pct)}%</strong> to ` +
        `<strong>${int(sc.target)}</strong> customers: expected incremental profit <strong>${money(fc.incremental_profit)}</strong>, ` +
        `ROI ${pct(fc.roi)}.<button type="button" class="secondary" id="use-suggest">Plan this campaign</button></div>`;
    }
    if (r.customers && r.customers.length) html += `<p class="muted">${int(r.customers.length)} ${r.customers.length === 1 ? "customer" : "customers"} likely to buy it.</p>`;
    out.innerHTML = html;
    out.querySelectorAll("li[data-i]").forEach((li) => li.addEventListener("click", () => selectProduct(ns[Number(li.dataset.i)])));
    const use = $("use-suggest");
    if (use) {
      use.addEventListener("click", async () => {
        const n = ns.find((x) => x.product_id === sc.product_id) || { product_id: sc.product_id, name: sc.product_id };
        await selectProduct(n);
        if (state.surface && state.surface.product_id === sc.product_id)
          setIndices(nearest(state.surface.discounts, sc.discount_pct), nearest(state.surface.targets, sc.target)), requestCampaign();
      });
    }
  } catch (e) {
    out.innerHTML = "";
    showError("Could not find similar products", e);
  }
}

// ---- wiring ----------------------------------------------------------------------------------
function switchView(name) {
  document.querySelectorAll(".views button").forEach((b) => b.setAttribute("aria-selected", String(b.dataset.view === name)));
  $("view-campaign").hidden = name !== "campaign";
  $("view-segments").hidden = name !== "segments";
  if (name === "segments") loadSegments();
  else resizeCharts();
}

function init() {
  state.key = readKey();
  if (!state.key) showKeyBar("Paste the key that promo serve printed (the page's address carries it as #key=…).");
  $("key-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    state.key = $("key-input").value.trim();
    try { localStorage.setItem(KEY_STORE, state.key); } catch (_) { /* memory only */ }
    $("keybar").hidden = !!state.key;
    showError(null);
    if (state.product && !state.surface) selectProduct(state.product);
    else if (state.surface) requestCampaign();
  });
  document.querySelectorAll(".views button").forEach((b) => b.addEventListener("click", () => switchView(b.dataset.view)));
  document.querySelectorAll(".subtabs button").forEach((b) =>
    b.addEventListener("click", () => {
      document.querySelectorAll(".subtabs button").forEach((x) => x.setAttribute("aria-selected", String(x === b)));
      $("pick-existing").hidden = b.dataset.pick !== "existing";
      $("pick-new").hidden = b.dataset.pick !== "new";
    }),
  );
  let timer = 0;
  $("search").addEventListener("input", (ev) => {
    clearTimeout(timer);
    timer = setTimeout(() => searchProducts(ev.target.value.trim()), 150);
  });
  // input: while the slider moves (local figures); change: on release (the table).
  $("discount").addEventListener("input", (ev) => { state.di = Number(ev.target.value); updateFigures(); });
  $("target").addEventListener("input", (ev) => { state.ti = Number(ev.target.value); updateFigures(); });
  $("discount").addEventListener("change", requestCampaign);
  $("rank-by").addEventListener("change", requestCampaign);
  $("bundle").addEventListener("change", requestCampaign);
  let bt = 0;
  $("budget").addEventListener("input", () => { clearTimeout(bt); bt = setTimeout(requestCampaign, 300); });
  $("target").addEventListener("change", requestCampaign);
  $("to-optimum").addEventListener("click", () => {
    if (!state.surface) return;
    const [oi, oj] = optimumIndex(state.surface);
    setIndices(oi, oj);
    requestCampaign();
  });
  $("download").addEventListener("click", downloadCsv);
  $("simulate").addEventListener("click", simulate);
  $("pick-new").addEventListener("submit", describeNew);
  $("campaign").tBodies[0].addEventListener("click", (ev) => {
    const tr = ev.target.closest("tr[data-k]");
    if (tr) showCustomer(state.rows[Number(tr.dataset.k)].customer_id);
  });
  let rt = 0;
  window.addEventListener("resize", () => { clearTimeout(rt); rt = setTimeout(resizeCharts, 100); });
  loadHealth();
  searchProducts("");
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
else init();
