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
  if (rca) for (const c of rca.candidates) ranking.set(c.service, c);
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
    }));
  }
  g.services.forEach((service, i) => {
    const candidate = ranking.get(service);
    const group = el("svg:g", { class: "node" + (candidate ? ` candidate rank-${candidate.rank}` : ""), "data-service": service });
    group.appendChild(el("svg:title", {}, `${service}: live root-cause probability ${(g.scores[i] * 100).toFixed(1)}%` +
      (candidate ? `; rank ${candidate.rank} in the last RCA event (${(candidate.score * 100).toFixed(0)}%)` : "")));
    group.appendChild(el("svg:circle", { cx: pos[i].x, cy: pos[i].y, r: 18, fill: candidate ? heat(candidate.score) : "#eceef2" }));
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
    title.appendChild(el("small", {}, `window ending ${new Date(g.windowEnd).toISOString().slice(11, 19)}, incident probability ${(g.incidentProbability * 100).toFixed(0)}%`));
    section.appendChild(title);
    const rca = latest.get(g.cluster);
    if (rca) {
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
  renderGraphs();
  renderEvents();
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
  source.addEventListener("rca", m => { received(); addEvent(JSON.parse(m.data)); renderGraphs(); renderEvents(); });
}

load().catch(e => setStatus("error: " + e));
