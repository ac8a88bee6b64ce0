// session-log dashboard: plain JavaScript, no dependencies, no network but
// this server. Figures come from the HTTP API (the views); the time slider asks
// for the views "as of" a day; recent decisions arrive by server-sent events.
"use strict";

const STAGES = ["added", "arranged", "tracking", "editing", "comped", "mixing",
  "mixed", "mastering", "mastered", "sequenced", "delivered"];
const SESSION_COLOURS = {
  PreProduction: "#8e7dbe", Tracking: "#2f5d8a", Overdub: "#4f8fc0",
  ArtistVocals: "#c8792b", Vocal: "#c8792b", DigitalEditing: "#6b8e23",
  Editing: "#6b8e23", Mixing: "#b3261e", Remixing: "#b3261e",
  Mastering: "#1d2330", TransfersAndSafeties: "#7a7a7a",
};
const SYMBOLS = { USD: "$", EUR: "\u20ac", GBP: "\u00a3", JPY: "\u00a5" };
const DAY = 86400000;
const MONTH_HALF_WIDTH = 22;  // half a "2025-06" axis label, in chart units

const state = {
  token: null, project: null, asOf: null, days: [], recordings: [],
  decisionsCursor: null, refreshTimer: null, source: null, playing: false,
  currency: "USD", refreshing: null, pending: false,
};

const $ = (sel) => document.querySelector(sel);
const esc = (text) => String(text ?? "").replace(/[&<>"']/g,
  (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const local = (id) => (id ? String(id).split(".").pop() : "-");

// ISO 4217 minor units that are not hundredths (session_log.domain.money.DECIMALS).
const DECIMALS = {
  BIF: 0, CLP: 0, DJF: 0, GNF: 0, ISK: 0, JPY: 0, KMF: 0, KRW: 0, PYG: 0, RWF: 0,
  UGX: 0, UYI: 0, VND: 0, VUV: 0, XAF: 0, XOF: 0, XPF: 0,
  BHD: 3, IQD: 3, JOD: 3, KWD: 3, LYD: 3, OMR: 3, TND: 3,
  CLF: 4, UYW: 4,
};
const decimals = (currency) => DECIMALS[currency] ?? 2;

function money(minor, currency = state.currency) {
  if (minor === null || minor === undefined) return "-";
  const sign = minor < 0 ? "-" : "";
  const places = decimals(currency);
  const scale = 10 ** places;
  const abs = Math.abs(minor);
  const units = Math.floor(abs / scale).toLocaleString("en-US");
  const text = places ? `${units}.${String(abs % scale).padStart(places, "0")}` : units;
  const symbol = SYMBOLS[currency];
  return symbol ? `${sign}${symbol}${text}` : `${sign}${text} ${currency}`;
}
function short(minor) {
  const v = minor / 10 ** decimals(state.currency);
  if (Math.abs(v) >= 1000) return `${SYMBOLS[state.currency] || ""}${Math.round(v / 1000)}k`;
  return `${SYMBOLS[state.currency] || ""}${Math.round(v)}`;
}
const day = (iso) => (iso ? String(iso).slice(0, 10) : "-");
const when = (iso) => (iso ? String(iso).slice(0, 16).replace("T", " ") : "-");

// --- API -----------------------------------------------------------------------

async function api(path, params = {}) {
  const url = new URL(path, window.location.origin);
  for (const [k, v] of Object.entries(params)) {
    if (v === null || v === undefined || v === "") continue;
    if (Array.isArray(v)) v.forEach((x) => url.searchParams.append(k, x));
    else url.searchParams.set(k, v);
  }
  const response = await fetch(url, { headers: { Authorization: `Bearer ${state.token}` } });
  if (response.status === 401) { showLogin("That token is not known to the server."); throw new Error("401"); }
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    throw new Error(body.detail || response.statusText);
  }
  return response.json();
}
const projectPath = (tail) => `/api/projects/${encodeURIComponent(state.project)}/${tail}`;

// --- login ---------------------------------------------------------------------

function showLogin(message) {
  $("#login").hidden = false;
  $("#login-error").textContent = message || "";
}
$("#login-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const token = $("#token-input").value.trim();
  if (!token) return;
  localStorage.setItem("session-log-token", token);
  state.token = token;
  $("#login").hidden = true;
  start();
});

// --- the time slider -------------------------------------------------------------

function setRange(first, last) {
  const start = Date.parse(day(first) + "T00:00:00Z");
  const end = Date.parse(day(last) + "T00:00:00Z");
  const days = [];
  for (let t = start; t <= end; t += DAY) days.push(new Date(t).toISOString().slice(0, 10));
  const wasLive = state.asOf === null;
  state.days = days;
  document.body.dataset.firstDay = days[0] || "";
  const slider = $("#slider");
  slider.max = String(days.length);  // the last position means "live"
  if (wasLive) slider.value = slider.max;
  showAsOf();
}
function showAsOf() {
  $("#as-of").textContent = state.asOf ? `as of ${state.asOf}` : "live";
  document.body.classList.toggle("historic", state.asOf !== null);
}
function sliderDay() {
  const i = Number($("#slider").value);
  return i >= state.days.length ? null : state.days[i];
}
$("#slider").addEventListener("input", () => {
  const d = sliderDay();
  $("#as-of").textContent = d ? `as of ${d}` : "live";
});
$("#slider").addEventListener("change", () => { state.asOf = sliderDay(); showAsOf(); refresh(); });
$("#go-live").addEventListener("click", () => {
  state.playing = false;
  $("#slider").value = $("#slider").max;
  state.asOf = null; showAsOf(); refresh();
});
$("#play").addEventListener("click", async () => {
  if (state.playing) { state.playing = false; return; }
  state.playing = true;
  $("#play").textContent = "\u25a0 Stop";
  const step = Math.max(1, Math.round(state.days.length / 40));
  for (let i = 0; i < state.days.length && state.playing; i += step) {
    $("#slider").value = String(i);
    state.asOf = state.days[i]; showAsOf();
    await refresh();
  }
  if (state.playing) { $("#go-live").click(); }
  state.playing = false;
  $("#play").textContent = "\u25b6 Replay";
});

// --- tabs ----------------------------------------------------------------------

document.querySelectorAll(".tabs button").forEach((b) => b.addEventListener("click", () => {
  document.querySelectorAll(".tabs button").forEach((x) => x.classList.toggle("active", x === b));
  document.querySelectorAll("[data-panel]").forEach((p) => { p.hidden = p.dataset.panel !== b.dataset.tab; });
  refresh();
}));
const activeTab = () => $(".tabs button.active").dataset.tab;

// --- rendering -----------------------------------------------------------------

function renderKpis(ledger) {
  const s = ledger.summary[0];
  const box = $("#kpis");
  if (!s) { box.innerHTML = `<div class="kpi"><div class="label">Budget</div><div class="value">none approved yet</div></div>`; return; }
  state.currency = s.currency;
  const kpis = [
    ["approved", "Budget approved", s.approved_total],
    ["revised", "Budget revised", s.revised],
    ["actual", "Actual", s.actual],
    ["paid", "Paid", s.paid],
    ["forecast", "Forecast", s.forecast],
    ["variance", "Variance", s.variance],
    ["contingency", "Contingency left", s.contingency_left],
  ];
  box.innerHTML = kpis.map(([key, label, value]) =>
    `<div class="kpi"><div class="label">${label}</div>` +
    `<div class="value ${key === "variance" && value < 0 ? "bad" : ""}" data-testid="kpi-${key}" data-minor="${value ?? ""}">${money(value)}</div></div>`).join("");
}

function renderSongs(progress) {
  const rows = progress.recordings.slice().sort((a, b) =>
    (a.status === "selected" ? 0 : 1) - (b.status === "selected" ? 0 : 1) || a.title.localeCompare(b.title));
  $("#songs").innerHTML = rows.map((r) => {
    const rank = STAGES.indexOf(r.stage);
    const bars = STAGES.map((s, i) => `<span class="${i < rank ? "done" : i === rank ? "now" : ""}" title="${s}"></span>`).join("");
    const title = esc(r.title) + (r.version_title ? ` <span class="muted">(${esc(r.version_title)})</span>` : "");
    return `<div class="song ${r.status === "selected" ? "" : "inactive"}" data-testid="song" data-recording="${esc(local(r.recording_id))}" data-stage="${esc(r.stage)}">` +
      `<div class="title" title="${esc(r.title)}">${title}</div><div class="stages">${bars}</div>` +
      `<div class="stage-name">${r.status === "selected" ? esc(r.stage) : esc(r.status)}</div></div>`;
  }).join("") || `<p class="muted">No songs yet.</p>`;
}

function renderLinesChart(ledger) {
  const lines = ledger.lines.filter((l) => l.approved !== null || l.actual || l.committed);
  if (!lines.length) { $("#lines-chart").innerHTML = `<p class="muted">No approved budget yet.</p>`; return; }
  const width = 520, label = 110, rowH = 20, right = 90;
  const height = lines.length * rowH + 20;
  const max = Math.max(1, ...lines.map((l) => Math.max(l.revised, l.actual, l.exposure, l.approved || 0)));
  const x = (v) => label + (v / max) * (width - label - right);
  const rows = lines.map((l, i) => {
    const y = i * rowH + 4;
    const over = Math.max(0, l.actual - l.revised);
    return `<g data-line="${esc(l.line)}"><title>${esc(l.line)}: revised ${money(l.revised)}, committed ${money(l.committed)}, actual ${money(l.actual)}, paid ${money(l.paid)}</title>` +
      `<text x="${label - 6}" y="${y + 12}" text-anchor="end">${esc(l.line)}</text>` +
      `<rect class="bar-revised" x="${label}" y="${y}" width="${Math.max(0, x(l.revised) - label)}" height="14" rx="2"></rect>` +
      `<rect class="bar-actual" x="${label}" y="${y + 3}" width="${Math.max(0, x(Math.min(l.actual, l.revised)) - label)}" height="8" rx="1"></rect>` +
      (over ? `<rect class="bar-over" x="${x(l.revised)}" y="${y + 3}" width="${x(l.actual) - x(l.revised)}" height="8"></rect>` : "") +
      (l.committed ? `<line class="bar-committed" x1="${x(l.committed)}" x2="${x(l.committed)}" y1="${y}" y2="${y + 14}"></line>` : "") +
      `<text x="${Math.max(x(l.revised), x(l.actual)) + 4}" y="${y + 12}">${short(l.actual)} / ${short(l.revised)}</text></g>`;
  }).join("");
  $("#lines-chart").innerHTML = `<svg viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="Budget against actual per line">${rows}</svg>` +
    `<div class="legend"><span><i style="background:var(--soft)"></i>revised budget</span><span><i style="background:var(--accent)"></i>actual</span>` +
    `<span><i style="background:var(--bad)"></i>over</span><span><i style="border:1.5px solid var(--accent2)"></i>committed</span></div>`;
}

function monthTicks(t0, t1, most = 7) {
  // First days of months between t0 and t1, thinned to at most `most` labels.
  const all = [];
  const d = new Date(t0);
  for (let m = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1); m <= t1;) {
    all.push(m);
    const n = new Date(m);
    m = Date.UTC(n.getUTCFullYear(), n.getUTCMonth() + 1, 1);
  }
  const every = Math.ceil(all.length / most) || 1;
  return all.filter((_, i) => i % every === 0);
}

function polyline(points, cls) {
  return points.length ? `<polyline class="${cls}" points="${points.map((p) => p.join(",")).join(" ")}"></polyline>` : "";
}

function renderSpendChart(spend) {
  const pts = spend.points;
  if (!pts.length) { $("#spend-chart").innerHTML = `<p class="muted">Nothing spent yet.</p>`; return; }
  const width = 520, height = 200, left = 48, bottom = 22, top = 8, right = 10;
  const t0 = Date.parse(pts[0].day), t1 = Math.max(t0 + DAY, Date.parse(pts[pts.length - 1].day));
  const max = Math.max(1, ...pts.map((p) => Math.max(p.revised, p.committed, p.actual)));
  const x = (d) => left + ((Date.parse(d) - t0) / (t1 - t0)) * (width - left - right);
  const y = (v) => top + (1 - v / max) * (height - top - bottom);
  const step = (key) => {
    const out = [];
    pts.forEach((p, i) => {
      if (i) out.push([x(p.day).toFixed(1), y(pts[i - 1][key]).toFixed(1)]);
      out.push([x(p.day).toFixed(1), y(p[key]).toFixed(1)]);
    });
    return out;
  };
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) =>
    `<line class="axis" x1="${left}" x2="${width - right}" y1="${y(max * f)}" y2="${y(max * f)}"></line>` +
    `<text x="${left - 4}" y="${y(max * f) + 3}" text-anchor="end">${short(max * f)}</text>`).join("");
  const months = monthTicks(t0, t1)
    .map((m) => [x(new Date(m).toISOString().slice(0, 10)), m])
    .filter(([at]) => at + MONTH_HALF_WIDTH <= width)  // a label cut at the edge: none
    .map(([at, m]) =>
      `<text x="${at}" y="${height - 6}" text-anchor="middle">${new Date(m).toISOString().slice(0, 7)}</text>`);
  const last = pts[pts.length - 1];
  $("#spend-chart").innerHTML = `<svg viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="Spend over time">${ticks}${months.join("")}` +
    polyline(step("revised"), "line-revised") + polyline(step("committed"), "line-committed") +
    polyline(step("paid"), "line-paid") + polyline(step("actual"), "line-actual") + `</svg>` +
    `<div class="legend"><span><i style="background:var(--accent)"></i>actual ${money(last.actual)}</span>` +
    `<span><i style="background:var(--good)"></i>paid ${money(last.paid)}</span>` +
    `<span><i style="background:var(--accent2)"></i>committed ${money(last.committed)}</span>` +
    `<span><i style="background:var(--bad)"></i>revised budget ${money(last.revised)}</span></div>`;
}

function renderSessions(progress) {
  const sessions = progress.sessions;
  if (!sessions.length) { $("#sessions-chart").innerHTML = `<p class="muted">No sessions booked yet.</p>`; return; }
  const types = [...new Set(sessions.map((s) => s.session_type))];
  const width = 520, left = 110, right = 10, rowH = 18, top = 4;
  const height = types.length * rowH + 26;
  const t0 = Math.min(...sessions.map((s) => Date.parse(s.starts_at)));
  const t1 = Math.max(t0 + DAY, ...sessions.map((s) => Date.parse(s.ends_at)));
  const x = (t) => left + ((t - t0) / (t1 - t0)) * (width - left - right);
  const rows = types.map((type, i) => `<text x="${left - 6}" y="${top + i * rowH + 12}" text-anchor="end">${esc(type)}</text>` +
    `<line class="axis" x1="${left}" x2="${width - right}" y1="${top + i * rowH + 15}" y2="${top + i * rowH + 15}"></line>`).join("");
  const bars = sessions.map((s) => {
    const i = types.indexOf(s.session_type);
    const a = x(Date.parse(s.starts_at)), b = x(Date.parse(s.ends_at));
    return `<rect class="session ${s.status === "cancelled" ? "cancelled" : ""}" data-session="${esc(local(s.session_id))}" x="${a.toFixed(1)}" y="${top + i * rowH + 2}" width="${Math.max(3, b - a).toFixed(1)}" height="12" rx="2" fill="${SESSION_COLOURS[s.session_type] || "#555"}">` +
      `<title>${esc(local(s.session_id))} (${esc(s.session_type)}, ${esc(s.status)}) ${when(s.starts_at)}\u2013${when(s.ends_at).slice(11)}</title></rect>`;
  }).join("");
  const months = monthTicks(t0, t1)
    .filter((m) => x(m) + MONTH_HALF_WIDTH <= width)  // a label cut at the edge: none
    .map((m) =>
      `<text x="${x(m)}" y="${height - 6}" text-anchor="middle">${new Date(m).toISOString().slice(0, 7)}</text>`);
  const counts = sessions.reduce((acc, s) => { acc[s.status] = (acc[s.status] || 0) + 1; return acc; }, {});
  $("#sessions-chart").innerHTML = `<svg viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="Sessions timeline">${rows}${bars}${months.join("")}</svg>` +
    `<div class="legend">${Object.entries(counts).map(([k, v]) => `<span>${v} ${esc(k)}</span>`).join("")}</div>`;
}

function renderLedgerTable(ledger) {
  const figures = ["approved", "revised", "committed", "actual", "paid", "variance", "forecast"];
  const head = `<tr><th>line</th><th>category</th>${figures.map((f) => `<th class="num">${f}</th>`).join("")}</tr>`;
  const rows = ledger.lines.map((l) => `<tr data-line="${esc(l.line)}"><td>${esc(l.line)}</td><td>${esc(l.category)}</td>` +
    figures.map((f) => `<td class="num ${f === "variance" && l[f] < 0 ? "bad" : ""}" data-figure="${f}" data-minor="${l[f] ?? ""}">${money(l[f], l.currency)}</td>`).join("") + `</tr>`).join("");
  const s = ledger.summary[0];
  const total = s ? `<tr class="total" data-testid="ledger-total"><td>total</td><td></td>` +
    [s.approved_total, s.revised, s.committed, s.actual, s.paid, s.variance, s.forecast]
      .map((v, i) => `<td class="num" data-figure="${figures[i]}" data-minor="${v ?? ""}">${money(v)}</td>`).join("") + `</tr>` : "";
  $("#ledger-table").innerHTML = head + rows + total;
}

async function loadDecisions(append = false) {
  const form = new FormData($("#filters"));
  const params = {
    limit: 50, newest_first: "true", as_of: state.asOf,
    actor: form.get("actor"), capacity: form.get("capacity"), kind: form.get("kind"),
    since: form.get("since") ? `${form.get("since")}T00:00:00Z` : null,
    until: form.get("until") ? `${form.get("until")}T23:59:59Z` : null,
    after: append ? state.decisionsCursor : null,
  };
  let page;
  try {
    page = await api(projectPath("decisions"), params);
  } catch (error) {  // a filter the API refuses: say why (a kind's typo...)
    $("#decisions-table").innerHTML = `<tr><td class="bad" data-testid="filter-error">${esc(error.message)}</td></tr>`;
    $("#more").hidden = true;
    return;
  }
  state.decisionsCursor = page.next_cursor;
  $("#more").hidden = !page.next_cursor;
  const head = `<tr><th class="num">#</th><th>when</th><th>who</th><th>capacity</th><th>decision</th><th>on</th><th>why</th><th>replaces</th></tr>`;
  const rows = page.items.map((d) => `<tr data-testid="decision-row" data-event-id="${esc(d.event_id)}"><td class="num">${d.position}</td><td>${when(d.occurred_at)}</td>` +
    `<td>${esc(local(d.actor))}</td><td>${esc(d.capacity)}</td><td><b>${esc(d.kind)}</b><br><span class="muted">${esc(d.command_type || "")}</span></td>` +
    `<td>${esc(d.aggregate_id)}</td><td>${esc(d.reason || "")}</td><td>${d.supersedes_json.map((x) => esc(`${x.field}=${x.ref}`)).join("<br>")}</td></tr>`).join("");
  if (append) $("#decisions-table").insertAdjacentHTML("beforeend", rows);
  else $("#decisions-table").innerHTML = head + (rows || `<tr><td colspan="8" class="muted">No decisions match.</td></tr>`);
}
$("#filters").addEventListener("submit", (e) => { e.preventDefault(); loadDecisions(); });
$("#more").addEventListener("click", () => loadDecisions(true));

async function loadCredits() {
  const data = await api(projectPath("credits"), { as_of: state.asOf });
  const pick = $("#recording");
  const subjects = [...new Set(data.credits.map((c) => c.subject_id))];
  const chosen = pick.value;
  pick.innerHTML = `<option value="">all recordings and the album</option>` +
    subjects.map((s) => `<option value="${esc(s)}">${s.includes(".recording.") ? esc(local(s)) : "(album)"}</option>`).join("");
  if (subjects.includes(chosen)) pick.value = chosen;
  const shown = data.credits.filter((c) => !pick.value || c.subject_id === pick.value);
  $("#credits-table").innerHTML = `<tr><th>recording</th><th>name</th><th>role</th><th>instruments</th><th>status</th><th>from</th></tr>` +
    shown.map((c) => `<tr data-testid="credit-row"><td>${c.subject_id.includes(".recording.") ? esc(local(c.subject_id)) : "(album)"}</td><td>${esc(c.name)}</td>` +
      `<td>${esc(c.role)}</td><td>${esc(c.instruments.join(", "))}</td><td><span class="pill ${esc(c.status)}">${esc(c.status)}</span></td>` +
      `<td class="muted">${esc(c.sources.join(", "))}</td></tr>`).join("");
  $("#splits-table").innerHTML = `<tr><th>work</th><th>writer</th><th>role</th><th class="num">share</th></tr>` +
    data.writer_splits.map((w) => `<tr><td>${esc(w.title)}</td><td>${esc(w.name)}</td><td>${esc(w.role)}</td><td class="num">${(w.share_bp / 100).toFixed(2)}%</td></tr>`).join("");
}
$("#recording").addEventListener("change", loadCredits);

async function refreshNow() {
  if (!state.project) return;
  const asOf = state.asOf;
  document.body.dataset.loading = "true";
  try {
    if (activeTab() === "overview") {
      const [ledger, spend, progress] = await Promise.all([
        api(projectPath("ledger"), { as_of: asOf }),
        api(projectPath("ledger/spend"), { as_of: asOf }),
        api(projectPath("progress"), { as_of: asOf }),
      ]);
      if (asOf !== state.asOf) return;  // the slider moved meanwhile
      renderKpis(ledger); renderSongs(progress); renderLinesChart(ledger);
      renderSpendChart(spend); renderSessions(progress); renderLedgerTable(ledger);
    } else if (activeTab() === "decisions") {
      await loadDecisions();
    } else {
      await loadCredits();
    }
    document.body.dataset.asOf = asOf || "live";
  } catch (error) {
    console.error(error);
  } finally {
    document.body.dataset.loading = "false";
  }
}
async function refresh() {
  // One refresh at a time; a request arriving meanwhile runs once afterwards.
  if (state.refreshing) { state.pending = true; return state.refreshing; }
  state.refreshing = (async () => {
    do { state.pending = false; await refreshNow(); } while (state.pending);
  })();
  try { await state.refreshing; } finally { state.refreshing = null; }
}
function scheduleRefresh() {
  clearTimeout(state.refreshTimer);
  state.refreshTimer = setTimeout(refresh, 250);
}

// --- live decisions ------------------------------------------------------------

function addToFeed(d, fresh) {
  const li = document.createElement("li");
  li.dataset.testid = "feed-item";
  li.dataset.eventId = d.event_id;
  li.setAttribute("data-testid", "feed-item");
  if (fresh) li.className = "new";
  li.innerHTML = `<div class="kind">${esc(d.kind)} <span class="muted">${esc(local(d.aggregate_id))}</span></div>` +
    `<div class="meta">${esc(local(d.actor))} as ${esc(d.capacity)} \u00b7 ${when(d.occurred_at)} \u00b7 #${d.position}</div>` +
    (d.reason ? `<div class="meta">${esc(d.reason)}</div>` : "");
  const feed = $("#feed");
  feed.insertBefore(li, feed.firstChild);
  while (feed.children.length > 40) feed.removeChild(feed.lastChild);
}

function connectLive() {
  if (state.source) state.source.close();
  $("#feed").innerHTML = "";
  const url = `${projectPath("live")}?recent=15&access_token=${encodeURIComponent(state.token)}`;
  const source = new EventSource(url);
  state.source = source;
  let initial = true;
  source.addEventListener("open", () => { $("#live-dot").className = "dot on"; $("#live-text").textContent = "live"; });
  source.addEventListener("error", () => { $("#live-dot").className = "dot off"; $("#live-text").textContent = "reconnecting"; });
  source.addEventListener("decision", (e) => {
    const d = JSON.parse(e.data);
    addToFeed(d, !initial);
    if (!initial) {
      const last = state.days[state.days.length - 1];
      if (day(d.occurred_at) > last) setRange(state.days[0], d.occurred_at);
      if (state.asOf === null) scheduleRefresh();
    }
  });
  source.addEventListener("views", (e) => {
    const v = JSON.parse(e.data);
    initial = false;
    const lag = Math.max(0, ...Object.values(v.lag));
    $("#head").textContent = `stream #${v.head}${lag ? `, views ${lag} behind` : ""}`;
  });
}

// --- start ---------------------------------------------------------------------

async function start() {
  let projects;
  try { projects = await api("/api/projects"); } catch (error) { return; }
  const select = $("#project");
  select.innerHTML = projects.map((p) => `<option>${esc(p.project)}</option>`).join("");
  const wanted = new URLSearchParams(window.location.search).get("project");
  if (wanted && projects.some((p) => p.project === wanted)) select.value = wanted;
  const choose = async () => {
    state.project = select.value;
    const info = projects.find((p) => p.project === state.project);
    $("#project-title").textContent = state.project;
    state.asOf = null;
    if (info) setRange(info.first_at, info.last_at);
    connectLive();
    await refresh();
    document.body.dataset.ready = "true";
  };
  select.onchange = choose;
  if (projects.length) await choose();
  else $("#songs").innerHTML = `<p class="muted">No project yet: try <code>session-log demo</code>.</p>`;
}

(function boot() {
  const fromHash = new URLSearchParams(window.location.hash.slice(1)).get("token");
  if (fromHash) {
    localStorage.setItem("session-log-token", fromHash);
    history.replaceState(null, "", window.location.pathname + window.location.search);
  }
  state.token = fromHash || localStorage.getItem("session-log-token");
  if (!state.token) { showLogin(); return; }
  start();
})();
