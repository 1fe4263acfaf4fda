// The graph view: the whole vault or the neighbourhood of a note, laid out on the server and
// refined by ForceAtlas2 in a web worker. Drawn with sigma (WebGL); where WebGL is missing a
// plain 2D canvas draws the same graph (pan, zoom, hover, click), so the view always works.

import Graph from "graphology";
import Sigma from "sigma";
import FA2Layout from "graphology-layout-forceatlas2/worker";
import forceAtlas2 from "graphology-layout-forceatlas2";
import { GraphData, GraphNode, enc, json, noteHref } from "./api";

const PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#17becf"];
const OTHER = "#9a9aa2";

/** How the graph is coloured and which notes it shows (the route's query: `colour`, `folder`, `tag`). */
export interface GraphOptions {
  colour: "folder" | "tag";
  folder: string;
  tag: string;
}

/** The group a note is coloured by: its top folder, or its first tag. */
function groupOf(n: GraphNode, colour: GraphOptions["colour"]): string {
  if (colour === "tag") return n.tags[0] ? `#${n.tags[0]}` : "no tag";
  return n.folder ? n.folder.split("/")[0] : "(root)";
}

/** A colour for each of the biggest groups (biggest first), the rest share one. */
function palette(nodes: GraphNode[], colour: GraphOptions["colour"]): { colours: Map<string, string>; legend: [string, string, number][] } {
  const counts = new Map<string, number>();
  for (const n of nodes) { const g = groupOf(n, colour); counts.set(g, (counts.get(g) ?? 0) + 1); }
  const order = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const colours = new Map<string, string>();
  const legend: [string, string, number][] = [];
  order.forEach(([g, c], i) => {
    const col = PALETTE[i] ?? OTHER;
    colours.set(g, col);
    if (i < PALETTE.length) legend.push([g, col, c]);
  });
  const rest = order.slice(PALETTE.length).reduce((sum, [, c]) => sum + c, 0);
  if (rest) legend.push([`${order.length - PALETTE.length} more`, OTHER, rest]);
  return { colours, legend };
}

function inFolder(n: GraphNode, folder: string): boolean {
  return !folder || n.folder === folder || n.folder.startsWith(`${folder}/`);
}
function hasTag(n: GraphNode, tag: string): boolean {
  return !tag || n.tags.some((t) => t === tag || t.startsWith(`${tag}/`));
}

/** The page's colours (they follow the system's light or dark theme). */
function themeColours(): { fg: string; bg: string; line: string; muted: string } {
  const css = getComputedStyle(document.documentElement);
  const v = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
  return { fg: v("--fg", "#1d1d1f"), bg: v("--bg", "#fff"), line: v("--line", "#d7d7db"), muted: v("--muted", "#5f6368") };
}
// One query object: `matchMedia` returns a new one per call, and a listener must be removed
// from the object it was added to.
const scheme = window.matchMedia("(prefers-color-scheme: dark)");
const darkScheme = () => scheme;

interface Current {
  vault: string;
  local: string | null;
  depth: number;
  options: GraphOptions;
  container: HTMLElement;
  stop: () => void;
}
let current: Current | null = null;
/** The last graph fetched, reused while only the colours or filters change. */
let cached: { vault: string; data: GraphData } | null = null;
/** Counts `showGraph` calls, so only the latest one draws. */
let shows = 0;

/** True when this browser gives a WebGL2 context (headless Chromium may not). */
export function hasWebGL(): boolean {
  try {
    return !!document.createElement("canvas").getContext("webgl2");
  } catch {
    return false;
  }
}

export function closeGraph(): void {
  current?.stop();
  current = null;
}

export async function refreshGraph(): Promise<void> {
  cached = null;
  if (current) await showGraph(current.container, current.vault, current.local, current.depth, current.options);
}

export async function showGraph(container: HTMLElement, vault: string, local: string | null, depth: number, options: GraphOptions): Promise<void> {
  closeGraph();
  const seq = ++shows;
  if (cached?.vault !== vault) {
    const data = await json<GraphData>(`vaults/${enc(vault)}/graph`);
    // A later call (the route changed while this one waited) draws instead: a renderer left on
    // a container it no longer owns would fail on every refresh.
    if (seq !== shows) return;
    cached = { vault, data };
  }
  closeGraph();
  const data = cached.data;
  const keep = data.nodes.map((n) => inFolder(n, options.folder) && hasTag(n, options.tag));
  const { colours, legend } = palette(data.nodes.filter((_, i) => keep[i]), options.colour);
  const graph = new Graph({ type: "directed", multi: false });
  data.nodes.forEach((n, i) => {
    if (!keep[i]) return;
    graph.addNode(String(i), {
      label: n.title, path: n.path, x: n.x, y: n.y,
      size: 3 + Math.min(12, Math.sqrt(n.degree) * 1.5), color: colours.get(groupOf(n, options.colour)) ?? OTHER,
    });
  });
  data.edges.forEach(([s, t]) => { if (keep[s] && keep[t]) graph.mergeEdge(String(s), String(t)); });
  let shown = graph;
  if (local) {
    const start = data.nodes.findIndex((n) => n.path === local);
    if (start >= 0 && graph.hasNode(String(start))) shown = neighbourhood(graph, String(start), Math.min(3, Math.max(1, depth)));
  }
  const href = (change: Partial<GraphOptions & { depth: number }>) => {
    const o = { ...options, depth, ...change };
    const q = new URLSearchParams();
    if (local) { q.set("local", local); q.set("depth", String(o.depth)); }
    if (o.colour !== "folder") q.set("colour", o.colour);
    if (o.folder) q.set("folder", o.folder);
    if (o.tag) q.set("tag", o.tag);
    const query = q.toString();
    return `#/v/${encodeURIComponent(vault)}/graph${query ? `?${query}` : ""}`;
  };
  const labelled = (text: string, select: HTMLSelectElement) => {
    const label = document.createElement("label");
    label.append(`${text} `, select);
    return label;
  };
  const choice = (id: string, values: [string, string][], value: string, onChange: (v: string) => void) => {
    const select = document.createElement("select");
    select.id = id;
    for (const [v, text] of values) select.append(new Option(text, v, false, v === value));
    select.value = value;
    select.onchange = () => onChange(select.value);
    return select;
  };

  const heading = document.createElement("h1");
  heading.textContent = local ? `Graph around ${local}` : `Graph of ${vault}`;
  const controls = document.createElement("div");
  controls.className = "toolbar";
  const folders = new Set<string>(), tags = new Set<string>();
  for (const n of data.nodes) {
    const parts = n.folder ? n.folder.split("/") : [];
    for (let i = 1; i <= parts.length; i++) folders.add(parts.slice(0, i).join("/"));
    n.tags.forEach((t) => tags.add(t));
  }
  controls.append(
    labelled("Colour by", choice("graph-colour", [["folder", "Folder"], ["tag", "Tag"]], options.colour,
      (v) => { location.hash = href({ colour: v as GraphOptions["colour"] }); })),
    labelled("Folder", choice("graph-folder", [["", "All folders"], ...[...folders].sort().map((f): [string, string] => [f, f])], options.folder,
      (v) => { location.hash = href({ folder: v }); })),
    labelled("Tag", choice("graph-tag", [["", "All tags"], ...[...tags].sort().map((t): [string, string] => [t, `#${t}`])], options.tag,
      (v) => { location.hash = href({ tag: v }); })),
  );
  if (local) {
    controls.append(labelled("Depth", choice("graph-depth", [["1", "1"], ["2", "2"], ["3", "3"]], String(depth),
      (v) => { location.hash = href({ depth: Number(v) }); })));
    const whole = document.createElement("a");
    whole.href = `#/v/${encodeURIComponent(vault)}/graph`;
    whole.textContent = "Whole vault";
    controls.append(whole);
  }
  const key = document.createElement("ul");
  key.id = "graph-legend";
  key.setAttribute("aria-label", `Colours by ${options.colour}`);
  for (const [group, colour, count] of legend) {
    const li = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = colour; // CSSOM, allowed by the page's CSP
    li.append(swatch, `${group} (${count})`);
    key.append(li);
  }
  const box = document.createElement("div");
  box.id = "graph";
  box.setAttribute("role", "img");
  box.setAttribute("aria-label", `Link graph: ${shown.order} notes, ${shown.size} links`);
  box.dataset.nodes = String(shown.order);
  box.dataset.edges = String(shown.size);
  const hint = document.createElement("p");
  hint.className = "hint";
  hint.textContent = "Scroll to zoom, drag to pan, hover to see neighbours, click a note to open it.";
  container.replaceChildren(heading, controls, key, box, hint);

  const open = (node: string) => { location.hash = noteHref(vault, shown.getNodeAttribute(node, "path")); };
  const stop = hasWebGL() ? drawWebGL(box, shown, open) : drawCanvas(box, shown, open);
  current = { vault, local, depth, options, container, stop };
}

/** The nodes within `depth` links of `start` (either direction) and the links among them. */
function neighbourhood(graph: Graph, start: string, depth: number): Graph {
  const keep = new Set([start]);
  let frontier = [start];
  for (let d = 0; d < depth; d++) {
    const next: string[] = [];
    for (const n of frontier) graph.forEachNeighbor(n, (m) => { if (!keep.has(m)) { keep.add(m); next.push(m); } });
    frontier = next;
  }
  const sub = new Graph({ type: "directed", multi: false });
  keep.forEach((n) => sub.addNode(n, { ...graph.getNodeAttributes(n) }));
  graph.forEachEdge((_e, _a, s, t) => { if (keep.has(s) && keep.has(t)) sub.mergeEdge(s, t); });
  return sub;
}

function drawWebGL(box: HTMLElement, graph: Graph, open: (node: string) => void): () => void {
  box.dataset.renderer = "webgl";
  // Every label on small graphs; on large ones only for nodes drawn big enough (zoom in).
  const renderer = new Sigma(graph, box, {
    renderEdgeLabels: false, labelRenderedSizeThreshold: graph.order < 300 ? 0 : 8, defaultEdgeType: "arrow",
    labelColor: { color: themeColours().fg }, defaultEdgeColor: themeColours().line,
    // Sigma's own hover box is white: unreadable with light labels on the dark theme.
    defaultDrawNodeHover: (ctx, data, settings) => {
      const t = themeColours(), size = settings.labelSize;
      ctx.font = `${settings.labelWeight} ${size}px ${settings.labelFont}`;
      ctx.fillStyle = t.bg;
      ctx.strokeStyle = t.muted;
      ctx.beginPath(); ctx.arc(data.x, data.y, data.size + 2, 0, Math.PI * 2); ctx.fill(); ctx.stroke();
      if (data.label) {
        const w = ctx.measureText(data.label).width;
        ctx.fillRect(data.x + data.size + 2, data.y - size / 2 - 3, w + 8, size + 6);
        ctx.strokeRect(data.x + data.size + 2, data.y - size / 2 - 3, w + 8, size + 6);
        ctx.fillStyle = t.fg;
        ctx.fillText(data.label, data.x + data.size + 6, data.y + size / 3);
      }
    },
  });
  const retheme = () => {
    renderer.setSetting("labelColor", { color: themeColours().fg });
    renderer.setSetting("defaultEdgeColor", themeColours().line);
  };
  darkScheme().addEventListener("change", retheme);
  let hovered: string | null = null;
  renderer.setSetting("nodeReducer", (node, attrs) => {
    if (!hovered || node === hovered || graph.areNeighbors(node, hovered)) return { ...attrs, highlighted: node === hovered };
    return { ...attrs, color: "#8884", label: "" };
  });
  renderer.setSetting("edgeReducer", (edge, attrs) => {
    if (hovered && !graph.extremities(edge).includes(hovered)) return { ...attrs, hidden: true };
    return attrs;
  });
  renderer.on("enterNode", ({ node }) => { hovered = node; renderer.refresh(); });
  renderer.on("leaveNode", () => { hovered = null; renderer.refresh(); });
  renderer.on("clickNode", ({ node }) => open(node));
  // Refine the server's layout in a worker for a few seconds, then stop.
  let layout: FA2Layout | null = null;
  if (graph.order > 1 && graph.order <= 20000) {
    // Stronger gravity than the inferred default keeps unlinked notes near the rest.
    const settings = forceAtlas2.inferSettings(graph);
    layout = new FA2Layout(graph, { settings: { ...settings, gravity: Math.max(3, settings.gravity ?? 1), barnesHutOptimize: graph.order > 1000 } });
    layout.start();
  }
  const timer = setTimeout(() => layout?.stop(), Math.min(8000, 1500 + graph.order));
  box.dataset.rendered = "true";
  return () => { clearTimeout(timer); layout?.kill(); renderer.kill(); darkScheme().removeEventListener("change", retheme); };
}

/** The fallback: the same graph on a 2D canvas, with pan, zoom, hover and click. */
function drawCanvas(box: HTMLElement, graph: Graph, open: (node: string) => void): () => void {
  box.dataset.renderer = "canvas";
  const canvas = document.createElement("canvas");
  box.append(canvas);
  const ctx = canvas.getContext("2d")!;
  const nodes = graph.mapNodes((n, a) => ({ key: n, x: a.x as number, y: a.y as number, size: a.size as number, color: a.color as string, label: a.label as string }));
  const index = new Map(nodes.map((n, i) => [n.key, i]));
  const edges = graph.mapEdges((_e, _a, s, t) => [index.get(s)!, index.get(t)!]);
  const xs = nodes.map((n) => n.x), ys = nodes.map((n) => n.y);
  const minX = Math.min(...xs, 0), maxX = Math.max(...xs, 1), minY = Math.min(...ys, 0), maxY = Math.max(...ys, 1);
  let scale = 1, ox = 0, oy = 0, hovered = -1;
  const fit = () => {
    const w = box.clientWidth || 600, h = box.clientHeight || 400;
    canvas.width = w * devicePixelRatio; canvas.height = h * devicePixelRatio;
    canvas.style.width = `${w}px`; canvas.style.height = `${h}px`;
    scale = Math.min(w / (maxX - minX || 1), h / (maxY - minY || 1)) * 0.9;
    ox = w / 2 - ((minX + maxX) / 2) * scale; oy = h / 2 + ((minY + maxY) / 2) * scale;
  };
  const sx = (x: number) => x * scale + ox, sy = (y: number) => -y * scale + oy;
  const draw = () => {
    ctx.setTransform(devicePixelRatio, 0, 0, devicePixelRatio, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.strokeStyle = getComputedStyle(box).color;
    ctx.globalAlpha = 0.35;
    ctx.beginPath();
    for (const [s, t] of edges) {
      if (hovered >= 0 && s !== hovered && t !== hovered) continue;
      ctx.moveTo(sx(nodes[s].x), sy(nodes[s].y)); ctx.lineTo(sx(nodes[t].x), sy(nodes[t].y));
    }
    ctx.stroke();
    ctx.globalAlpha = 1;
    ctx.font = "12px system-ui, sans-serif";
    const near = new Set<number>();
    if (hovered >= 0) for (const [s, t] of edges) { if (s === hovered) near.add(t); if (t === hovered) near.add(s); }
    nodes.forEach((n, i) => {
      ctx.globalAlpha = hovered < 0 || i === hovered || near.has(i) ? 1 : 0.2;
      ctx.fillStyle = n.color;
      ctx.beginPath(); ctx.arc(sx(n.x), sy(n.y), n.size / 2 + 1, 0, Math.PI * 2); ctx.fill();
      if (i === hovered || near.has(i) || (hovered < 0 && nodes.length < 200)) { ctx.fillStyle = getComputedStyle(box).color; ctx.fillText(n.label, sx(n.x) + n.size, sy(n.y) + 4); }
    });
    ctx.globalAlpha = 1;
  };
  const hit = (e: MouseEvent) => {
    const r = canvas.getBoundingClientRect();
    const mx = e.clientX - r.left, my = e.clientY - r.top;
    let best = -1, bestD = 100;
    nodes.forEach((n, i) => { const d = (sx(n.x) - mx) ** 2 + (sy(n.y) - my) ** 2; if (d < bestD) { bestD = d; best = i; } });
    return best;
  };
  let drag: { x: number; y: number; moved: boolean } | null = null;
  canvas.onmousedown = (e) => { drag = { x: e.clientX, y: e.clientY, moved: false }; };
  canvas.onmousemove = (e) => {
    if (drag) { ox += e.clientX - drag.x; oy += e.clientY - drag.y; drag.moved ||= Math.abs(e.clientX - drag.x) + Math.abs(e.clientY - drag.y) > 2; drag.x = e.clientX; drag.y = e.clientY; draw(); return; }
    const h = hit(e); if (h !== hovered) { hovered = h; draw(); }
  };
  canvas.onmouseup = (e) => { const moved = drag?.moved; drag = null; if (!moved) { const h = hit(e); if (h >= 0) open(nodes[h].key); } };
  canvas.onwheel = (e) => {
    e.preventDefault();
    const r = canvas.getBoundingClientRect(), k = e.deltaY < 0 ? 1.2 : 1 / 1.2;
    const mx = e.clientX - r.left, my = e.clientY - r.top;
    ox = mx - (mx - ox) * k; oy = my - (my - oy) * k; scale *= k; draw();
  };
  const onResize = () => { fit(); draw(); };
  window.addEventListener("resize", onResize);
  darkScheme().addEventListener("change", draw);
  fit(); draw();
  box.dataset.rendered = "true";
  // For automation (the browser tests): where the canvas drew node `i`, in page coordinates.
  (window as any).__weaverGraphPoint = (i: number) => {
    const r = canvas.getBoundingClientRect();
    return nodes[i] ? { x: r.left + sx(nodes[i].x), y: r.top + sy(nodes[i].y) } : null;
  };
  return () => { window.removeEventListener("resize", onResize); darkScheme().removeEventListener("change", draw); };
}
