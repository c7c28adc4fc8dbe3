// LogWhisperer dashboard: service graphs with the current root-cause ranking, and the feed of RCA events.
// Loads the current state as JSON, then follows server-sent events. No framework, no external requests.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const MAX_EVENTS = 50;
const params = new URLSearchParams(location.search);
// The bearer token, when the server wants one, comes in the page's query string and goes on every request.
const token = params.get("token");
// ?once=1: take the stream's replay of the current state and stop (a static snapshot, e.g. for a headless browser).
const once = params.get("once") === "1";
function withToken(path, query = {}) {
  const q = new URLSearchParams(query);
  if (token) q.set("token", token);
  const s = q.toString();
  return s ? path + "?" + s : path;
}

const graphs = new Map();  // cluster → latest scored graph
const latest = new Map();  // cluster → latest RCA event (its candidates are the ranking shown)
let events = [];           // newest first
let streamed = 0;          // messages received over server-sent events
const incidents = new Map(); // incident id → { id, cluster, events (oldest first), latest }
const before = new Map();  // incident id → its evidence measurements in the windows before it began (SSE "before")
let past = [];             // incidents from the store (GET /api/incidents), for those not seen live
let feedbackHistory = [];  // GET /api/feedback
let selected = null;       // incident id shown in detail
const corrections = new Map(); // incident id → the service chosen in its "the root cause was" list, kept across re-renders
// The cluster the list is filtered to ("": all); ?cluster=NAME opens the console filtered, and the address follows the filter.
let clusterFilter = params.get("cluster") || "";

// White (score 0) to deep red (score 1).
function heat(score) {
  const s = Math.max(0, Math.min(1, score));
  return `hsl(${Math.round(40 - 40 * s)}, ${Math.round(30 + 60 * s)}%, ${Math.round(96 - 46 * s)}%)`;
}

function el(tag, attrs, text) {
  const e = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

// Layered layout: a service's column is its longest call depth from a service nobody calls.
function layout(services, edges) {
  const n = services.length, depth = new Array(n).fill(0);
  for (let pass = 0; pass < n; pass++) {
    let changed = false;
    for (const [s, t] of edges) if (s !== t && depth[t] < depth[s] + 1 && depth[s] + 1 < n) { depth[t] = depth[s] + 1; changed = true; }
    if (!changed) break;
  }
  const columns = new Map();
  depth.forEach((d, i) => { if (!columns.has(d)) columns.set(d, []); columns.get(d).push(i); });
  const width = 760, rowHeight = 56, colCount = Math.max(...columns.keys()) + 1;
  const height = Math.max(...[...columns.values()].map(c => c.length)) * rowHeight + 20;
  const pos = new Array(n);
  for (const [d, members] of columns) {
    members.sort((a, b) => services[a].localeCompare(services[b]));
    members.forEach((i, k) => {
      pos[i] = { x: 60 + (width - 120) * (colCount === 1 ? 0.5 : d / (colCount - 1)), y: (height - members.length * rowHeight) / 2 + rowHeight * (k + 0.5) };
    });
  }
  return { pos, width, height };
}

function renderGraph(g) {
  const ranking = new Map();
  const rca = latest.get(g.cluster);
  // After an incident resolves nothing is ranked any more: the graph shows the symptoms as they are now.
  const resolved = rca && rca.incident && rca.incident.state === "resolved";
  if (rca && !resolved) for (const c of rca.candidates) ranking.set(c.service, c);
  const path = new Set(), impacted = new Map();
  if (rca && !resolved) {
    const hops = (rca.evidence.propagationPath || []).map(h => h.service);
    for (let i = 1; i < hops.length; i++) path.add(hops[i] + "→" + hops[i - 1]); // the caller calls the callee the fault came from
    for (const s of rca.impactedServices || []) impacted.set(s.service, s);
  }
  const { pos, width, height } = layout(g.services, g.edges);
  const svg = el("svg:svg", { class: "graph", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": `service graph of ${g.cluster}` });
  const defs = el("svg:defs");
  const marker = el("svg:marker", { id: "arrow-" + g.cluster, viewBox: "0 0 10 10", refX: "10", refY: "5", markerWidth: "6", markerHeight: "6", orient: "auto" });
  marker.appendChild(el("svg:path", { d: "M0,0 L10,5 L0,10 z", fill: "#99a" }));
  defs.appendChild(marker);
  svg.appendChild(defs);
  for (const [s, t] of g.edges) {
    const a = pos[s], b = pos[t], dx = b.x - a.x, dy = b.y - a.y, len = Math.hypot(dx, dy) || 1, r = 20;
    svg.appendChild(el("svg:line", {
      class: "edge", x1: a.x + dx / len * r, y1: a.y + dy / len * r, x2: b.x - dx / len * r, y2: b.y - dy / len * r,
      "marker-end": `url(#arrow-${g.cluster})`, "data-source": g.services[s], "data-target": g.services[t],
      ...(path.has(g.services[s] + "→" + g.services[t]) ? { class: "edge path" } : {}),
    }));
  }
  g.services.forEach((service, i) => {
    const candidate = ranking.get(service);
    const symptom = g.heat && g.heat[i] >= 3 ? g.symptoms[i] : null;
    const cls = "node" + (candidate ? ` candidate rank-${candidate.rank}` : "") + (impacted.has(service) ? " impacted" : "") + (symptom ? " symptomatic" : "")
      + (resolved && rca.incident.rootCause === service ? " resolved-root" : "");
    const group = el("svg:g", { class: cls, "data-service": service, "data-heat": g.heat ? String(g.heat[i]) : "0" });
    group.appendChild(el("svg:title", {}, `${service}: live root-cause probability ${(g.scores[i] * 100).toFixed(1)}%` +
      (candidate ? `; rank ${candidate.rank} in the last RCA event (${(candidate.score * 100).toFixed(0)}%)` : "") +
      (symptom ? `; symptom now: ${plain(symptom)}` : "; no symptom now") + (impacted.has(service) ? "; in the blast radius of the root cause" : "")));
    if (symptom) group.appendChild(el("svg:circle", { class: "symptom-ring", cx: pos[i].x, cy: pos[i].y, r: 18 + Math.min(8, g.heat[i] / 4), fill: "none",
      stroke: `hsl(28, 95%, ${Math.round(70 - Math.min(30, g.heat[i]))}%)`, "stroke-width": Math.min(8, 2 + g.heat[i] / 5) }));
    group.appendChild(el("svg:circle", { cx: pos[i].x, cy: pos[i].y, r: 18, fill: candidate ? heat(candidate.score) : resolved && rca.incident.rootCause === service ? "#d8f3dc" : "#eceef2" }));
    group.appendChild(el("svg:text", { x: pos[i].x, y: pos[i].y + 32 }, service));
    svg.appendChild(group);
  });
  return svg;
}

function renderGraphs() {
  const section = document.getElementById("graphs");
  section.replaceChildren();
  if (graphs.size === 0) { section.appendChild(el("p", { class: "empty" }, "No graph snapshot yet.")); return; }
  for (const g of [...graphs.values()].sort((a, b) => a.cluster.localeCompare(b.cluster))) {
    const title = el("div", { class: "cluster-title" });
    title.appendChild(el("h2", {}, g.cluster));
    title.appendChild(el("small", {}, `window ending ${when(g.windowEnd)}, incident probability ${(g.incidentProbability * 100).toFixed(0)}%`));
    section.appendChild(title);
    const rca = latest.get(g.cluster);
    if (rca && rca.incident && rca.incident.state === "resolved") {
      section.appendChild(el("div", { class: "meta resolved-note", role: "status" },
        `Resolved at ${when(rca.incident.resolvedAt)}: the incident with root cause ${rca.incident.rootCause} is over. Rings show symptoms as they are now.`));
    } else if (rca) {
      section.appendChild(el("div", { class: "meta" }, `Root-cause ranking of the last RCA event (${rca.faultType.kind}, window ending ${rca.windowEnd.slice(11, 19)}):`));
      const list = el("ol", { class: "ranking" });
      for (const c of rca.candidates) {
        const item = el("li", { "data-service": c.service });
        item.appendChild(el("span", { class: "swatch", style: `background:${heat(c.score)}` }));
        item.appendChild(document.createTextNode(`${c.service} ${(c.score * 100).toFixed(0)}%`));
        list.appendChild(item);
      }
      section.appendChild(list);
    }
    section.appendChild(renderGraph(g));
  }
}

function renderEvents() {
  const list = document.getElementById("events");
  list.replaceChildren();
  if (events.length === 0) { list.appendChild(el("li", { class: "empty" }, "No RCA event yet.")); return; }
  for (const e of events) {
    const item = el("li", { class: "event", "data-id": e.id });
    const meta = el("div", { class: "meta" }, `${e.windowStart.slice(11, 19)}–${e.windowEnd.slice(11, 19)} · ${e.cluster} · ${e.faultType.kind} · incident ${(e.incidentProbability * 100).toFixed(0)}% · `);
    if (e.candidates.length > 0) meta.appendChild(el("span", { class: "top" }, `${e.candidates[0].service} ${(e.candidates[0].score * 100).toFixed(0)}%`));
    item.appendChild(meta);
    item.appendChild(el("p", { class: "explanation" }, e.explanation));
    list.appendChild(item);
  }
}

function addEvent(e) {
  if (events.some(x => x.id === e.id)) return;
  events.unshift(e);
  events = events.slice(0, MAX_EVENTS);
  const current = latest.get(e.cluster);
  if (!current || current.windowEnd <= e.windowEnd) latest.set(e.cluster, e);
  if (e.incident) {
    const known = incidents.get(e.incident.id) || { id: e.incident.id, cluster: e.cluster, events: [] };
    if (!known.events.some(x => x.id === e.id)) known.events.push(e);
    known.events.sort((a, b) => a.windowStart.localeCompare(b.windowStart));
    known.latest = known.events[known.events.length - 1];
    incidents.set(known.id, known);
  }
}

function setStatus(text, live) {
  const status = document.getElementById("status");
  status.textContent = text;
  status.className = "status" + (live ? " live" : "");
}

async function load() {
  const [graphResponse, eventResponse] = await Promise.all([fetch(withToken("api/graph")), fetch(withToken("api/events"))]);
  if (!graphResponse.ok || !eventResponse.ok) { setStatus(`error: HTTP ${graphResponse.ok ? eventResponse.status : graphResponse.status}`); return; }
  for (const g of await graphResponse.json()) graphs.set(g.cluster, g);
  for (const e of (await eventResponse.json()).reverse()) addEvent(e); // served newest first
  await loadIncidents();
  renderGraphs();
  renderEvents();
  renderIncidents();
  follow();
}

function received() {
  streamed++;
  document.body.dataset.streamed = String(streamed);
  setStatus(once ? `snapshot · ${streamed} update(s)` : `live · ${streamed} update(s)`, true);
}

function follow() {
  const source = new EventSource(withToken("api/stream", once ? { once: "1" } : {}));
  source.onopen = () => setStatus(once ? "snapshot" : "live", true);
  source.onerror = () => {
    if (once) { source.close(); return; } // the server ended the replay on purpose
    setStatus("disconnected, retrying…");
  };
  source.addEventListener("graph", m => { received(); const g = JSON.parse(m.data); graphs.set(g.cluster, g); renderGraphs(); });
  source.addEventListener("before", m => { received(); const b = JSON.parse(m.data); before.set(b.incident, b.series); renderIncidents(); });
  source.addEventListener("rca", m => { received(); addEvent(JSON.parse(m.data)); renderGraphs(); renderEvents(); renderIncidents(); });
}

load().catch(e => setStatus("error: " + e));

// ── Incident console ──────────────────────────────────────────────────────────────────────────────
// Dates as people read them: local date and time with the time zone named.
function when(t) {
  if (t === undefined || t === null) return "—";
  return new Date(t).toLocaleString("en-GB", { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short" });
}
function duration(ms) { const m = Math.round(ms / 60000); return m < 60 ? `${m} min` : `${Math.floor(m / 60)} h ${m % 60} min`; }
// Jargon with plain words beside it: "+155σ" means 155 times the usual spread above its normal level.
function plain(symptom) {
  return symptom.replace(/([+-])(\d+(?:\.\d+)?)σ/g, (m, sign, n) => `${m} (${n}× its usual spread ${sign === "+" ? "above" : "below"} normal)`);
}
function pct(x) { return `${Math.round(x * 100)}%`; }

async function loadIncidents() {
  const [p, f] = await Promise.all([fetch(withToken("api/incidents")), fetch(withToken("api/feedback"))]);
  if (p.ok) past = await p.json();
  if (f.ok) feedbackHistory = await f.json();
}

function incidentRows() {
  const rows = [...incidents.values()].map(i => ({
    id: i.id, cluster: i.cluster, state: i.latest.incident.state, root: i.latest.incident.rootCause, kind: i.latest.faultType.kind,
    confidence: i.latest.candidates[0].score, opened: i.latest.incident.openedAt, end: i.latest.incident.resolvedAt || i.latest.windowEnd,
    inconclusive: i.latest.verdict && i.latest.verdict.conclusion === "inconclusive", urgency: i.latest.urgency, live: true,
  }));
  for (const p of past) if (!incidents.has(p.id))
    rows.push({ id: p.id, cluster: p.cluster, state: "resolved", root: p.actualRootCause || p.rootCause, kind: p.faultKind, confidence: null,
      opened: p.openedAt, end: p.resolvedAt || p.openedAt, feedback: p.feedback, live: false });
  return rows.sort((a, b) => String(b.opened).localeCompare(String(a.opened)));
}

// Every event draws the list and the details anew; a keyboard user's place must survive that. The focused element is
// remembered by what it is (the incident's button, or the n-th element of its kind in the same incident's details).
function focusedPlace() {
  const e = document.activeElement;
  const item = e && e.closest("#incident-list li.incident");
  if (item) return { list: item.dataset.incident };
  const box = document.getElementById("incident-detail");
  if (!e || e === box || !box.contains(e)) return null;
  return { detail: box.dataset.incident, tag: e.tagName, index: [...box.querySelectorAll(e.tagName)].indexOf(e), cls: e.className };
}

function refocus(place) {
  if (!place || document.activeElement && document.activeElement !== document.body) return;
  const box = document.getElementById("incident-detail");
  const target = place.list ? document.querySelector(`#incident-list li.incident[data-incident="${CSS.escape(place.list)}"] button`)
    : box.dataset.incident === place.detail ? [...box.querySelectorAll(place.tag)][place.index] : null;
  if (target && (!place.cls || target.className === place.cls)) target.focus();
}

function renderIncidents() {
  const place = focusedPlace();
  drawIncidents();
  refocus(place);
}

function drawIncidents() {
  const list = document.getElementById("incident-list");
  const filter = document.getElementById("cluster-filter");
  const rows = incidentRows();
  const chosen = clusterFilter;
  const clusters = [...new Set(rows.map(r => r.cluster).concat(chosen ? [chosen] : []))].sort();
  filter.replaceChildren(el("option", { value: "" }, "all clusters"), ...clusters.map(c => el("option", { value: c, ...(c === chosen ? { selected: "" } : {}) }, c)));
  list.replaceChildren();
  const shown = rows.filter(r => !chosen || r.cluster === chosen);
  if (shown.length === 0) list.appendChild(el("li", { class: "empty" }, "No incident yet."));
  for (const r of shown) {
    const item = el("li", { class: `incident ${r.state === "resolved" ? "resolved" : "open"}`, "data-incident": r.id, "data-state": r.state });
    const button = el("button", { type: "button", "aria-pressed": String(selected === r.id),
      "aria-label": `${r.state === "resolved" ? "Resolved" : "Open"} incident in ${r.cluster}, root cause ${r.root}` });
    button.appendChild(el("span", { class: "badge " + (r.state === "resolved" ? "ok" : r.urgency && r.urgency.severity === "warning" ? "warn" : "bad") },
      r.state === "resolved" ? "resolved" : r.urgency ? r.urgency.severity : "open"));
    button.appendChild(el("strong", {}, ` ${r.root}`));
    button.appendChild(el("span", { class: "meta" }, ` · ${r.kind}${r.confidence !== null ? " · " + pct(r.confidence) + " sure" : ""}${r.inconclusive ? " · inconclusive" : ""} · ${r.cluster} · `
      + `opened ${when(r.opened)} · ${duration(new Date(r.end) - new Date(r.opened))}${r.feedback ? " · " + r.feedback : ""}`));
    button.addEventListener("click", () => { selected = r.id; renderIncidents(); document.getElementById("incident-detail").focus(); });
    item.appendChild(button);
    list.appendChild(item);
  }
  renderConfirmedShare();
  renderDetail(chosen);
}

function renderConfirmedShare() {
  const box = document.getElementById("confirmed-share");
  box.replaceChildren();
  if (feedbackHistory.length === 0) { box.appendChild(el("span", { class: "empty" }, "No verdict judged yet.")); return; }
  let confirmed = 0;
  const points = feedbackHistory.map((f, i) => { if (f.feedback === "confirmed") confirmed++; return confirmed / (i + 1); });
  box.appendChild(el("span", {}, `Confirmed verdicts: ${confirmed} of ${feedbackHistory.length} (${pct(confirmed / feedbackHistory.length)}) `));
  box.appendChild(sparkline(points, null, 0, 1, "share of confirmed verdicts after each judgement"));
}

// A small line chart; band = [low, high] per point (the baseline band) drawn behind it.
function sparkline(values, band, min, max, label, marks) {
  const w = 220, h = 40, n = values.length;
  const svg = el("svg:svg", { class: "spark", viewBox: `0 0 ${w} ${h}`, width: w, height: h, role: "img", "aria-label": label });
  const x = i => n <= 1 ? w / 2 : 2 + (w - 4) * i / (n - 1), y = v => h - 3 - (h - 6) * (max === min ? 0.5 : (v - min) / (max - min));
  if (band) svg.appendChild(el("svg:path", { class: "band", d: band.map(([lo], i) => `${i ? "L" : "M"}${x(i)},${y(lo)}`).join("") + band.map(([, hi], i) => `L${x(band.length - 1 - i)},${y(band[band.length - 1 - i][1])}`).join("") + "Z" }));
  for (const m of marks || []) svg.appendChild(el("svg:line", { class: "mark", x1: x(m), x2: x(m), y1: 0, y2: h }));
  svg.appendChild(el("svg:polyline", { class: "line", points: values.map((v, i) => `${x(i)},${y(v)}`).join(" ") }));
  return svg;
}

function renderDetail(cluster) {
  const box = document.getElementById("incident-detail");
  box.replaceChildren();
  delete box.dataset.incident;
  const inCluster = i => !cluster || i.cluster === cluster;
  const inc = selected && incidents.has(selected) && inCluster(incidents.get(selected)) ? incidents.get(selected)
    : [...incidents.values()].filter(inCluster).sort((a, b) => b.latest.windowEnd.localeCompare(a.latest.windowEnd))[0];
  if (!inc) { box.appendChild(el("p", { class: "empty" }, "Choose an incident.")); return; }
  const last = inc.latest, info = last.incident, windows = inc.events.filter(e => e.incident.state !== "resolved");
  box.dataset.incident = inc.id;
  box.appendChild(el("h3", {}, `${info.state === "resolved" ? "Resolved" : "Open"}: ${info.rootCause} in ${inc.cluster}`));
  box.appendChild(el("p", { class: "meta" }, `Opened ${when(info.openedAt)}${info.resolvedAt ? ", resolved " + when(info.resolvedAt) : ""} · ${info.windows} window(s) · likely fault ${last.faultType.kind} (${pct(last.faultType.confidence)})`
    + (last.urgency ? ` · urgency: ${last.urgency.severity}, SLO burn rate ${last.urgency.burnRate} (1 = spending the error budget exactly as fast as it accrues)` : "")));
  if (last.verdict && last.verdict.conclusion === "inconclusive") {
    const v = el("div", { class: "inconclusive", role: "note" });
    v.appendChild(el("strong", {}, "Inconclusive: "));
    v.appendChild(document.createTextNode(last.verdict.hypotheses.map(h => `${h.service} (${pct(h.score)}; ${plain(h.symptom)})`).join(" or ") + ". "));
    for (const s of last.verdict.separatingEvidence) v.appendChild(el("p", {}, s));
    box.appendChild(v);
  }
  // Timeline: incident probability per window, the rank-1 candidate of each window underneath, and a marker
  // where a change (rollout, config change) of the root cause is known, placed at the change's time.
  box.appendChild(el("h4", {}, "Timeline"));
  const timeline = el("ol", { class: "timeline" });
  const changes = [...new Map(inc.events.filter(e => e.change).map(e => [e.change.service + "@" + e.change.startedAt, e.change])).values()]
    .sort((a, b) => new Date(a.startedAt) - new Date(b.startedAt));
  const changeMarker = c => {
    const li = el("li", { class: "change", "data-change-kind": c.kind, "data-service": c.service });
    li.appendChild(el("span", { class: "time" }, when(c.startedAt)));
    li.appendChild(el("span", { class: "marker", "aria-hidden": "true" }, "▲"));
    const version = (c.toVersion ? " " + c.toVersion : "") + (c.fromVersion ? ` (from ${c.fromVersion})` : "");
    const offset = c.secondsBeforeOnset >= 0 ? `${Math.round(c.secondsBeforeOnset)} s before the incident began` : `recorded ${Math.round(-c.secondsBeforeOnset)} s after the incident began`;
    li.appendChild(document.createTextNode(` change: ${c.kind} of ${c.service}${version}, ${offset} (source: ${c.source})${c.description ? " — " + c.description : ""}`));
    return li;
  };
  for (const e of inc.events) {
    while (changes.length && new Date(changes[0].startedAt) < new Date(e.windowEnd)) timeline.appendChild(changeMarker(changes.shift()));
    const li = el("li", { "data-state": e.incident.state });
    li.appendChild(el("span", { class: "time" }, when(e.windowEnd)));
    li.appendChild(el("span", { class: "bar", style: `width:${e.incident.state === "resolved" ? 0 : Math.round(e.incidentProbability * 60)}px`, title: `incident probability ${pct(e.incidentProbability)}` }));
    li.appendChild(document.createTextNode(e.incident.state === "resolved" ? " resolved (quiet windows)"
      : ` ${pct(e.incidentProbability)} incident · ` + e.candidates.slice(0, 3).map(c => `${c.service} ${pct(c.score)}`).join(", ")));
    timeline.appendChild(li);
  }
  for (const c of changes) timeline.appendChild(changeMarker(c));
  box.appendChild(timeline);
  // Evidence: each measurement that drove the verdict, its value per window before and during the incident
  // (a dashed line where it began) against the baseline band (baseline ± 3 times its usual spread).
  box.appendChild(el("h4", {}, "Evidence (value per window before and during the incident, baseline band shaded)"));
  const first = windows[0] || last;
  if (!first.evidence.features.some(f => f.value !== undefined)) box.appendChild(el("p", { class: "empty" }, "No single measurement stood out."));
  for (const f of first.evidence.features) {
    const series = windows.map(e => e.evidence.features.find(x => x.feature === f.feature && x.service === f.service)).filter(Boolean);
    if (series.length === 0 || f.value === undefined) continue;
    const scale = f.deviation ? Math.abs((f.value - (f.baseline || 0)) / f.deviation) : 0;
    const prior = ((before.get(inc.id) || []).find(s => s.service === f.service && s.measurement === f.measurement) || { points: [] })
      .points.map(p => p.value).filter(v => v !== null);
    // Before: the windows before the incident when the console saw them, else the baseline as the one "before" point.
    const earlier = prior.length ? prior : [f.baseline || 0];
    const values = [...earlier, ...series.map(s => s.value)];
    const band = values.map(() => [(f.baseline || 0) - 3 * scale, (f.baseline || 0) + 3 * scale]);
    const all = values.concat(band.flat());
    const row = el("div", { class: "evidence", "data-feature": f.feature, "data-before": String(prior.length), "data-during": String(series.length) });
    row.appendChild(sparkline(values, band, Math.min(...all), Math.max(...all),
      `${f.measurement} of ${f.service}: ${prior.length ? prior.length + " window(s) before" : "baseline"}, then ${series.length} window(s) during the incident`, [earlier.length]));
    const [lo, hi] = [Math.min(...prior), Math.max(...prior)];
    const was = prior.length ? `; before: ${lo === hi ? lo : lo + "–" + hi} ${f.unit}` : "";
    row.appendChild(el("span", {}, ` ${f.service} ${f.measurement.replace(/_/g, " ")}: ${f.value} ${f.unit} vs baseline ${f.baseline ?? "—"} ${f.unit}${was}`
      + (f.deviation !== undefined ? ` — ${plain((f.deviation >= 0 ? "+" : "") + f.deviation + "σ")}` : "")));
    box.appendChild(row);
  }
  if (last.impactedServices) {
    box.appendChild(el("h4", {}, `Blast radius (${last.impactedServices.length} service(s) degraded by it)`));
    box.appendChild(el("p", { class: "impacted" }, last.impactedServices.map(s => `${s.service}: ${plain(s.symptom)}`).join(" · ")));
  }
  box.appendChild(el("h4", {}, "Similar past incidents"));
  const similar = last.similarIncidents || [];
  box.appendChild(similar.length === 0 ? el("p", { class: "empty" }, "None seen before.")
    : el("ul", { class: "similar" }, undefined));
  if (similar.length) for (const s of similar)
    box.lastChild.appendChild(el("li", {}, `${s.rootCause} (${s.faultKind}) opened ${when(s.openedAt)} in ${s.cluster} — ${pct(s.similarity)} alike${s.feedback ? ", verdict " + s.feedback + (s.actualRootCause ? " (it was " + s.actualRootCause + ")" : "") : ""}`));
  box.appendChild(feedbackForm(inc));
}

function feedbackForm(inc) {
  const form = el("form", { class: "feedback", "aria-label": "Judge this verdict" });
  form.appendChild(el("h4", {}, "Was the verdict right?"));
  const status = el("span", { class: "feedback-status", role: "status" });
  const send = async body => {
    const r = await fetch(withToken(`api/incidents/${encodeURIComponent(inc.id)}/feedback`), { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    status.textContent = r.ok ? `Thanks: recorded (${body.verdict}).` : `Not recorded: HTTP ${r.status} ${await r.text()}`;
    if (r.ok) { await loadIncidents(); renderConfirmedShare(); }
  };
  const confirm = el("button", { type: "button", class: "confirm" }, `Confirm: it was ${inc.latest.incident.rootCause}`);
  confirm.addEventListener("click", () => send({ verdict: "confirm" }));
  const reject = el("button", { type: "button", class: "reject" }, "Reject: no incident");
  reject.addEventListener("click", () => send({ verdict: "reject" }));
  const label = el("label", {}, "The root cause was ");
  const choice = el("select", { name: "service" });
  const graph = graphs.get(inc.cluster);
  for (const s of (graph ? graph.services : inc.latest.candidates.map(c => c.service))) choice.appendChild(el("option", { value: s }, s));
  if (corrections.has(inc.id)) choice.value = corrections.get(inc.id);
  choice.addEventListener("change", () => corrections.set(inc.id, choice.value));
  label.appendChild(choice);
  const correct = el("button", { type: "button", class: "correct" }, "Send correction");
  correct.addEventListener("click", () => send({ verdict: "rootCause", service: choice.value }));
  form.append(confirm, reject, label, correct, status);
  return form;
}

document.getElementById("cluster-filter").addEventListener("change", e => {
  clusterFilter = e.target.value;
  const q = new URLSearchParams(location.search);
  if (clusterFilter) q.set("cluster", clusterFilter); else q.delete("cluster");
  history.replaceState(null, "", "?" + q.toString());
  renderIncidents();
});
