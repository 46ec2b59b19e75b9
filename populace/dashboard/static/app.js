// The populace dashboard: one page over the read-only JSON API. Every 2 s it asks what changed
// (/changes: a version per part of the population) and refetches only what the open tab shows
// and whose parts moved. This script runs before plotly.js (4.8 MB) is parsed, so the first
// requests overlap it; drawing waits for it.
"use strict";

const plotlyReady = new Promise((resolve) => document.addEventListener("DOMContentLoaded", resolve));

const POLL_MS = 2000;
// A figure is redrawn at most this often while a run goes on (the counts above it every poll):
// drawing is most of what a live page costs the machine it runs on.
const FIGURE_MS = 10000;
const FIGURES = new Set(["curves", "schedule", "lineage", "params"]);
const NEEDS = {
  // panel -> the parts of the population it is drawn from ("member": the member selected)
  curves: ["members", "segments", "results"],
  members: ["members", "segments", "results"],
  schedule: ["segments", "results", "member"],
  lineage: ["members", "segments", "results", "member"],
  params: ["segments", "results"],
  decisions: ["decisions"],
  failures: ["members"],
  workers: ["workers", "members"],
};
const TAB_PANELS = {
  overview: ["curves", "members", "schedule"],
  lineage: ["lineage"],
  params: ["params"],
  decisions: ["decisions"],
  failures: ["failures"],
  workers: ["workers"],
};
const KINDS = ["exploit", "explore", "evaluate", "stop", "continue"];
const PLOT_CONFIG = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["lasso2d", "select2d"] };

const state = {
  population: null, // the population shown, or null for the list
  tab: "overview",
  versions: null, // the latest versions polled
  drawn: {}, // panel -> the versions it was drawn from
  drawnAt: {}, // panel -> when it was last drawn (Date.now())
  member: null, // the member whose schedule is shown (null: the best)
  summary: null,
  kinds: new Set(["exploit", "explore", "evaluate", "stop"]),
  openDecision: null,
  lastRead: null,
  busy: {},
};

const $ = (id) => document.getElementById(id);

function esc(value) {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function fmt(value) {
  if (value === null || value === undefined) return "-";
  if (typeof value === "number") {
    if (Number.isInteger(value)) return String(value);
    return Math.abs(value) >= 1e5 || (Math.abs(value) < 1e-3 && value !== 0)
      ? value.toExponential(3) : String(Number(value.toPrecision(5)));
  }
  return typeof value === "string" ? value : JSON.stringify(value);
}

function params(p) {
  return Object.entries(p).map(([k, v]) => `<span class="param"><b>${esc(k)}</b>=${esc(fmt(v))}</span>`).join(" ");
}

function ago(seconds) {
  const s = Math.max(0, Math.round(Date.now() / 1000 - seconds));
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  return `${(s / 3600).toFixed(1)} h ago`;
}

function badge(text, kind) {
  return `<span class="badge ${esc(kind || text)}">${esc(text)}</span>`;
}

async function api(path) {
  const response = await fetch(`/api/${path}`, { cache: "no-store" });
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
  return body;
}

function popPath(rest) {
  return `populations/${encodeURIComponent(state.population)}/${rest}`;
}

function showError(error) {
  const banner = $("banner");
  if (error) {
    banner.textContent = `cannot read the storage: ${error.message || error}`;
    banner.hidden = false;
  } else {
    banner.hidden = true;
  }
}

// --- routing ------------------------------------------------------------------------------

function route() {
  const match = location.hash.match(/^#\/p\/([^/]+)(?:\/(\w+))?/);
  const fallback = document.body.dataset.population;
  const population = match ? decodeURIComponent(match[1]) : (location.hash ? null : fallback || null);
  const tab = match && match[2] && TAB_PANELS[match[2]] ? match[2] : "overview";
  if (population !== state.population) {
    state.population = population;
    state.versions = null;
    state.drawn = {};
    state.drawnAt = {};
    state.member = null;
    state.openDecision = null;
    for (const id of FIGURES) {
      if ($(id).data) Plotly.purge($(id));
    }
    for (const id of ["metric", "param-x", "param-y"]) $(id).innerHTML = "";
    delete document.body.dataset.rendered;
  }
  state.tab = tab;
  $("populations-page").hidden = population !== null;
  $("population-page").hidden = population === null;
  for (const name of Object.keys(TAB_PANELS)) $(`tab-${name}`).hidden = name !== tab;
  for (const a of document.querySelectorAll("#tabs a")) {
    a.classList.toggle("active", a.dataset.tab === tab);
    a.href = `#/p/${encodeURIComponent(population || "")}/${a.dataset.tab}`;
  }
  $("crumbs").innerHTML = population === null ? "" :
    `<a href="#/">populations</a><span class="sep">/</span><b>${esc(population)}</b>`;
  document.title = population === null ? "populace dashboard" : `${population} · populace`;
  poll();
}

// --- polling ------------------------------------------------------------------------------

let timer = null;
let polling = false;
let again = false; // asked to poll while a poll ran (a new tab or population): poll once more

async function poll() {
  clearTimeout(timer);
  if (polling) {
    again = true;
    return;
  }
  polling = true;
  try {
    if (state.population === null) await drawPopulations();
    else await pollPopulation();
    state.lastRead = Date.now();
    showError(null);
  } catch (error) {
    showError(error);
  } finally {
    polling = false;
    updateLive();
    if (again) {
      again = false;
      poll();
    } else {
      timer = setTimeout(poll, POLL_MS);
    }
  }
}

function updateLive() {
  const running = state.summary && state.summary.state === "running";
  $("live").classList.toggle("on", Boolean(state.lastRead) && $("banner").hidden);
  $("live-text").textContent = !state.lastRead ? "connecting"
    : state.population !== null && !running ? "up to date" : "live";
}

async function pollPopulation() {
  const changes = await api(popPath("changes"));
  state.versions = changes.versions;
  drawSummary(changes.summary);
  // The first panel (the curves on the overview) is drawn before the others start drawing.
  const [first, ...rest] = TAB_PANELS[state.tab].filter((panel) => stale(panel) && due(panel));
  if (first) await drawPanel(first);
  await Promise.all(rest.map(drawPanel));
}

function due(panel) {
  const at = state.drawnAt[panel];
  return !FIGURES.has(panel) || at === undefined || Date.now() - at >= FIGURE_MS;
}

function current() {
  return { ...state.versions, member: state.member };
}

function stale(panel) {
  const drawn = state.drawn[panel];
  const now = current();
  return !drawn || NEEDS[panel].some((part) => drawn[part] !== now[part]);
}

async function drawPanel(panel) {
  if (state.busy[panel]) return;
  state.busy[panel] = true;
  const versions = current();
  try {
    await DRAW[panel]();
    state.drawn[panel] = versions;
    state.drawnAt[panel] = Date.now();
  } finally {
    state.busy[panel] = false;
  }
}

// --- populations --------------------------------------------------------------------------

async function drawPopulations() {
  const data = await api("populations");
  $("storage").textContent = `in ${data.storage}`;
  const rows = data.populations.map((p) => `
    <tr class="link" data-name="${esc(p.name)}">
      <td><a href="#/p/${encodeURIComponent(p.name)}/overview">${esc(p.name)}</a></td>
      <td>${badge(p.state)}</td><td class="num">${p.members}</td><td class="num">${p.running}</td>
      <td class="num">${p.failed}</td><td class="num">${p.step} / ${p.budget}</td>
      <td class="num">${p.results}</td><td class="num">${esc(fmt(p.best_score))}</td>
      <td>${p.best_member === null ? "-" : `member ${p.best_member}`}</td>
    </tr>`);
  $("populations").tBodies[0].innerHTML = rows.join("") ||
    `<tr><td colspan="9" class="muted">no populations in this storage yet</td></tr>`;
  for (const tr of $("populations").tBodies[0].rows) {
    if (tr.dataset.name !== undefined) tr.onclick = () => { location.hash = `#/p/${encodeURIComponent(tr.dataset.name)}/overview`; };
  }
}

function drawSummary(s) {
  state.summary = s;
  $("state").innerHTML = badge(s.state);
  $("member-count").textContent = `${s.members}` + (s.running && s.running < s.members ? ` (${s.running} running)` : "");
  $("progress").textContent = `${s.step} / ${s.budget}`;
  $("result-count").textContent = s.results;
  $("latest-step").textContent = fmt(s.latest_step);
  $("decision-count").textContent = s.decisions;
  $("best").innerHTML = s.best_member === null ? "-" :
    `<a class="member-link" data-member="${s.best_member}">member ${s.best_member}</a> <span class="muted">${esc(fmt(s.best_score))} (${esc(s.direction)})</span>`;
  $("failure-count").textContent = s.failed ? s.failed : "";
  const select = $("metric");
  if (s.metrics.length && select.options.length !== s.metrics.length + 1) {
    select.innerHTML = `<option value="">score</option>` + s.metrics.map((m) => `<option>${esc(m)}</option>`).join("");
  }
  $("metric-control").hidden = s.metrics.length === 0;
}

// --- figures ------------------------------------------------------------------------------

// Draw figure `id`: its title goes in the card's head, its height (if it sets one) to the div,
// and an animation opens on its last frame, the population now.
async function plot(id, query) {
  const figure = await api(popPath(`figures/${id}${query ? `?${query}` : ""}`));
  const layout = { ...figure.layout, uirevision: figure.layout.uirevision || id, autosize: true };
  const title = layout.title && layout.title.text ? layout.title.text : "";
  $(`${id}-title`).innerHTML = title.replace(/<br>/g, " · ").replace(/<\/?sup>/g, "");
  delete layout.title;
  delete layout.width;
  layout.margin = { ...(layout.margin || {}), t: 16 };
  if (layout.height) $(id).style.height = `${layout.height - 40}px`;
  delete layout.height;
  let data = figure.data;
  if (figure.frames && figure.frames.length && layout.sliders) {
    const last = figure.frames.length - 1;
    data = figure.frames[last].data;
    layout.sliders = layout.sliders.map((s) => ({ ...s, active: last }));
  }
  await plotlyReady;
  await Plotly.react($(id), { data, layout, frames: figure.frames || [], config: { ...PLOT_CONFIG, ...(figure.config || {}) } });
  return figure;
}

// The member a clicked point belongs to: its customdata, the trace's meta, or the trace name.
function memberOf(point) {
  const candidates = [point.customdata, point.data && point.data.meta, point.data && point.data.customdata];
  for (const c of candidates) {
    const value = Array.isArray(c) ? c[0] : (c && typeof c === "object" ? c.member : c);
    if (Number.isInteger(value)) return value;
  }
  const name = String((point.data && point.data.name) || "").match(/(\d+)/);
  return name ? Number(name[1]) : null;
}

// Show `member`'s schedule (and its ancestry in the lineage), from a click anywhere.
function selectMember(member) {
  if (member === null || member === undefined) return;
  state.member = member;
  for (const tr of $("members").tBodies[0].rows) tr.classList.toggle("selected", Number(tr.dataset.member) === member);
  if (state.tab === "lineage") drawPanel("lineage");
  else if (state.tab === "overview") drawPanel("schedule");
  else location.hash = `#/p/${encodeURIComponent(state.population)}/overview`;
}

const DRAW = {
  async curves() {
    const metric = $("metric").value;
    const div = $("curves");
    const first = !div.data;
    await plot("curves", metric ? `metric=${encodeURIComponent(metric)}` : "");
    if (first) div.on("plotly_click", (e) => selectMember(memberOf(e.points[0])));
    div.dataset.points = String(div.data.reduce((n, t) => n + (t.x ? t.x.length : 0), 0));
    document.body.dataset.rendered = String(Number(document.body.dataset.rendered || 0) + 1);
  },
  async members() {
    const data = await api(popPath("members"));
    $("members").tBodies[0].innerHTML = data.members.map((m) => `
      <tr class="link${m.member === state.member ? " selected" : ""}${m.member === data.best ? " best" : ""}" data-member="${m.member}">
        <td class="num">${esc(m.label)}${m.member === data.best ? ' <span class="star" title="best">★</span>' : ""}</td>
        <td>${badge(m.state)}</td><td class="num">${m.step}</td><td class="num">${m.generation}</td>
        <td class="num">${esc(fmt(m.score))}</td><td>${params(m.params)}</td>
        <td class="nowrap">${m.parent ? `${m.parent.member} <span class="muted">at step ${m.parent.step}</span>` : "-"}</td>
      </tr>`).join("");
    for (const tr of $("members").tBodies[0].rows) tr.onclick = () => selectMember(Number(tr.dataset.member));
  },
  async schedule() {
    const member = state.member;
    await plot("schedule", member === null ? "" : `member=${member}`);
    const best = state.summary && state.summary.best_member;
    const shown = member === null ? best : member;
    $("schedule-member").textContent = shown === null || shown === undefined ? "-" : shown;
    $("schedule-note").textContent = member === null ? "the best member (click another)" : "";
    $("schedule").dataset.member = shown === null || shown === undefined ? "" : String(shown);
  },
  async lineage() {
    await plot("lineage", `collapse=${$("collapse").checked ? 1 : 0}${state.member === null ? "" : `&member=${state.member}`}`);
    const div = $("lineage");
    if (!div.dataset.bound) {
      div.on("plotly_click", (e) => selectMember(memberOf(e.points[0])));
      div.dataset.bound = "1";
    }
  },
  async params() {
    const space = state.summary.params;
    for (const [id, options] of [["param-x", space], ["param-y", ["", ...space]]]) {
      const select = $(id);
      if (select.options.length !== options.length) {
        select.innerHTML = options.map((p) => `<option value="${esc(p)}">${p ? esc(p) : "score"}</option>`).join("");
      }
    }
    const x = $("param-x").value;
    const y = $("param-y").value;
    await plot("params", `x=${encodeURIComponent(x)}${y ? `&y=${encodeURIComponent(y)}` : ""}`);
  },
  async decisions() {
    const kinds = [...state.kinds].join(",");
    const data = await api(popPath(`decisions?kinds=${kinds || "none"}&limit=200`));
    $("decision-note").textContent = data.total > data.decisions.length
      ? `the latest ${data.decisions.length} of ${data.total}` : `${data.total} shown`;
    $("decisions").tBodies[0].innerHTML = data.decisions.map((d) => `
      <tr class="link${d.id === state.openDecision ? " selected" : ""}" data-id="${d.id}">
        <td class="num">${d.step}</td><td class="num">${d.member}</td><td class="num">${d.generation}</td>
        <td>${badge(d.kind)}${d.details.parent !== undefined ? ` <span class="muted">from ${d.details.parent}</span>` : ""}</td>
        <td class="reason">${esc(d.reason)}${d.details.params ? `<div class="small">${params(d.details.params)}</div>` : ""}</td>
        <td class="num">${d.compared_count}</td>
      </tr>`).join("") || `<tr><td colspan="6" class="muted">no decisions of these kinds yet</td></tr>`;
    for (const tr of $("decisions").tBodies[0].rows) {
      if (tr.dataset.id) tr.onclick = () => openDecision(tr, Number(tr.dataset.id));
    }
    if (state.openDecision !== null) {
      const tr = [...$("decisions").tBodies[0].rows].find((r) => Number(r.dataset.id) === state.openDecision);
      if (tr) await openDecision(tr, state.openDecision, true);
    }
  },
  async failures() {
    const rows = await api(popPath("failures"));
    $("failures").innerHTML = rows.map((f) => `
      <div class="failure" data-member="${f.member}">
        <div class="failure-head">member <b>${f.member}</b> ${badge(f.state)}
          <span class="muted">at step ${f.step} &middot; ${f.failures} failed ${f.failures === 1 ? "try" : "tries"}</span></div>
        <pre class="traceback">${esc(f.error || "(no error stored)")}</pre>
      </div>`).join("") || `<p class="muted">no member has failed</p>`;
  },
  async workers() {
    const rows = await api(popPath("workers"));
    $("worker-count").textContent = rows.filter((w) => w.state === "running").length || "";
    $("workers").tBodies[0].innerHTML = rows.map((w) => `
      <tr><td class="mono">${esc(w.worker)}</td>
        <td>${badge(w.state)}${w.why ? ` <span class="muted">${esc(w.why)}</span>` : ""}</td>
        <td>${esc(w.host)}</td><td class="num">${w.pid}</td>
        <td>${ago(w.started_at)}</td><td>${w.stopped_at ? `stopped ${ago(w.stopped_at)}` : ago(w.last_seen)}</td>
        <td class="num">${w.lease_seconds === null ? "-" : `${fmt(w.lease_seconds)} s`}</td>
        <td>${w.members.length ? w.members.join(", ") : "-"}</td></tr>`).join("")
      || `<tr><td colspan="8" class="muted">no workers registered</td></tr>`;
  },
};

async function openDecision(tr, id, keep) {
  const next = tr.nextElementSibling;
  if (next && next.classList.contains("detail")) {
    next.remove();
    if (!keep) { state.openDecision = null; tr.classList.remove("selected"); return; }
  }
  state.openDecision = id;
  tr.classList.add("selected");
  const d = await api(popPath(`decisions/${id}`));
  const parent = d.details.parent;
  const rows = d.compared.map((c, i) => `
    <tr class="${c.member === d.member ? "self" : ""}${c.member === parent ? " parent" : ""}">
      <td class="num">${i + 1}</td><td class="num">${c.member}</td><td class="num">${c.step}</td>
      <td class="num">${esc(fmt(c.score))}</td>
      <td>${c.member === d.member ? "this member" : c.member === parent ? "copied" : ""}</td></tr>`).join("");
  const detail = document.createElement("tr");
  detail.className = "detail";
  detail.innerHTML = `<td colspan="6"><div class="compared">
    <div class="muted">the comparison behind this decision (best first), from the scores stored when it was made</div>
    <table class="grid small"><thead><tr><th class="num">rank</th><th class="num">member</th><th class="num">step</th><th class="num">score</th><th></th></tr></thead>
    <tbody>${rows || `<tr><td colspan="5" class="muted">no comparison: decided on this member alone</td></tr>`}</tbody></table></div></td>`;
  tr.after(detail);
}

// --- controls -----------------------------------------------------------------------------

function setup() {
  $("metric").onchange = () => drawPanel("curves");
  $("collapse").onchange = () => drawPanel("lineage");
  $("param-x").onchange = () => drawPanel("params");
  $("param-y").onchange = () => drawPanel("params");
  $("kinds").innerHTML = KINDS.map((k) => `<label class="chip"><input type="checkbox" value="${k}"${state.kinds.has(k) ? " checked" : ""}> ${k}</label>`).join("");
  for (const box of $("kinds").querySelectorAll("input")) {
    box.onchange = () => {
      if (box.checked) state.kinds.add(box.value); else state.kinds.delete(box.value);
      drawPanel("decisions");
    };
  }
  document.body.addEventListener("click", (e) => {
    const link = e.target.closest(".member-link");
    if (link) selectMember(Number(link.dataset.member));
  });
  window.addEventListener("hashchange", route);
  route();
}

setup();