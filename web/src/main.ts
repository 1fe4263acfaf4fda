// Weaver's web UI: search, read, edit and see the graph of a vault. Plain TypeScript over the
// public REST API; hash routes (`#/v/{vault}/n/{path}`, `#/v/{vault}/tag/{tag}`,
// `#/v/{vault}/graph?colour=tag&folder=F&tag=T&local=P&depth=N`) so back and forward work
// and the server serves one page.

import {
  ApiError, NoteDto, Rendered, SearchResults, VaultSummary, api, apiError, currentKey, enc,
  follow, json, noteHref, onUnauthorized, setKey, whoami,
} from "./api";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

function h<K extends keyof HTMLElementTagNameMap>(
  tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  el.append(...children);
  return el;
}

interface State {
  vaults: VaultSummary[];
  vault: string;
  canWrite: boolean;
  note: NoteDto | null;
  etag: string | null;
  editing: boolean;
  events: AbortController | null;
}
const state: State = { vaults: [], vault: "", canWrite: true, note: null, etag: null, editing: false, events: null };

function route(): { vault: string; view: string; arg: string; params: URLSearchParams } {
  const hash = location.hash.replace(/^#/, "");
  const [pathPart, query = ""] = hash.split("?", 2);
  const parts = pathPart.split("/").filter(Boolean);
  const params = new URLSearchParams(query);
  if (parts[0] === "v" && parts.length >= 2) {
    const vault = decodeURIComponent(parts[1]);
    const view = parts[2] ?? "";
    const arg = parts.slice(3).map(decodeURIComponent).join("/");
    return { vault, view, arg, params };
  }
  return { vault: "", view: "", arg: "", params };
}


// ----------------------------------------------------------------------------------------
// API key (only through the gateway)

function askForKey(): Promise<void> {
  const dialog = $<HTMLDialogElement>("key-dialog");
  const input = $<HTMLInputElement>("key-input");
  const remember = $<HTMLInputElement>("key-remember");
  input.value = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.onclose = () => {
      setKey(input.value.trim() || null, remember.checked);
      resolve();
    };
  });
}

// ----------------------------------------------------------------------------------------
// Search

let searchSeq = 0;
let activeHit = -1;

async function runSearch(): Promise<void> {
  const input = $<HTMLInputElement>("search");
  const list = $("results");
  const q = input.value.trim();
  const tag = $<HTMLSelectElement>("filter-tag").value;
  const folder = $<HTMLSelectElement>("filter-folder").value;
  const seq = ++searchSeq;
  if (!q && !tag && !folder) {
    list.replaceChildren();
    input.removeAttribute("aria-activedescendant");
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    return;
  }
  const params = new URLSearchParams({ limit: "20" });
  if (q) params.set("q", q);
  if (tag) params.set("tag", tag);
  if (folder) params.set("folder", folder);
  let results: SearchResults;
  try {
    results = await json<SearchResults>(`vaults/${enc(state.vault)}/search?${params}`);
  } catch (e) {
    if (seq !== searchSeq) return;
    list.replaceChildren(h("li", { class: "error" }, (e as Error).message));
    list.hidden = false;
    return;
  }
  if (seq !== searchSeq) return;
  activeHit = -1;
  input.removeAttribute("aria-activedescendant");
  list.replaceChildren(
    ...results.items.map((hit, i) => {
      const a = h("a", { href: noteHref(state.vault, hit.path), tabindex: "-1" },
        h("span", { class: "hit-title" }, hit.title),
        h("span", { class: "hit-path" }, hit.path),
        h("span", { class: "hit-snippet" }, ...highlight(hit.snippet, hit.highlights)));
      return h("li", { role: "option", id: `hit-${i}`, "aria-selected": "false" }, a);
    }),
  );
  if (results.items.length === 0) list.append(h("li", { class: "empty" }, "No notes match"));
  list.hidden = false;
  input.setAttribute("aria-expanded", "true");
  $("status").textContent = `${results.total} results`;
}

/** The snippet with its highlighted byte ranges in <mark>. */
function highlight(snippet: string, ranges: { start: number; end: number }[]): (Node | string)[] {
  const bytes = new TextEncoder().encode(snippet);
  const dec = new TextDecoder();
  const out: (Node | string)[] = [];
  let at = 0;
  for (const r of [...ranges].sort((a, b) => a.start - b.start)) {
    if (r.start < at || r.end > bytes.length) continue;
    out.push(dec.decode(bytes.slice(at, r.start)));
    out.push(h("mark", {}, dec.decode(bytes.slice(r.start, r.end))));
    at = r.end;
  }
  out.push(dec.decode(bytes.slice(at)));
  return out;
}

function moveHit(delta: number): void {
  const items = [...$("results").querySelectorAll<HTMLLIElement>("li[role=option]")];
  if (items.length === 0) return;
  activeHit = (activeHit + delta + items.length) % items.length;
  items.forEach((li, i) => li.setAttribute("aria-selected", String(i === activeHit)));
  $("search").setAttribute("aria-activedescendant", items[activeHit].id);
  items[activeHit].scrollIntoView({ block: "nearest" });
}

function openHit(): void {
  const items = [...$("results").querySelectorAll<HTMLLIElement>("li[role=option]")];
  const item = items[activeHit >= 0 ? activeHit : 0];
  const a = item?.querySelector("a");
  if (a) {
    location.hash = a.getAttribute("href")!;
    closeResults();
  }
}

function closeResults(): void {
  $("results").hidden = true;
  $("search").removeAttribute("aria-activedescendant");
  $("search").setAttribute("aria-expanded", "false");
}

// ----------------------------------------------------------------------------------------
// Note view

async function showNote(path: string, anchor: string | null): Promise<void> {
  const main = $("view");
  const base = `vaults/${enc(state.vault)}/notes/${enc(path)}`;
  let note: NoteDto, rendered: Rendered;
  try {
    [note, rendered] = await Promise.all([json<NoteDto>(base), json<Rendered>(`${base}/html`)]);
  } catch (e) {
    state.note = null;
    main.replaceChildren(h("h1", {}, "Not found"), h("p", { class: "error" }, (e as Error).message));
    $("side").replaceChildren();
    return;
  }
  state.note = note;
  state.etag = `"${rendered.hash}"`;
  state.editing = false;
  document.title = `${note.title} · Weaver`;
  const body = h("div", { class: "markdown", id: "note-body" });
  body.innerHTML = rendered.html; // sanitised on the server (ammonia)
  const toolbar = h("div", { class: "toolbar" });
  if (state.canWrite) {
    const edit = h("button", { type: "button", id: "edit-button" }, "Edit");
    edit.onclick = () => startEdit();
    const rename = h("button", { type: "button", id: "rename-button" }, "Rename");
    rename.onclick = () => askRename(note);
    const remove = h("button", { type: "button", id: "delete-button" }, "Delete");
    remove.onclick = () => askDelete(note);
    toolbar.append(edit, rename, remove);
  }
  const graphLink = h("a", { href: `#/v/${encodeURIComponent(state.vault)}/graph?local=${encodeURIComponent(note.path)}` }, "Local graph");
  toolbar.append(graphLink);
  main.replaceChildren(
    h("p", { class: "note-path" }, note.path),
    h("h1", { id: "note-title" }, note.title),
    toolbar,
    properties(note),
    ...(rendered.truncated ? [h("p", { class: "notice" }, "This note is long: only its first part is shown.")] : []),
    body,
  );
  await Promise.all([expandEmbeds(body), loadImages(body)]);
  $("side").replaceChildren(...sidePanels(note));
  if (anchor) document.getElementById(`n-${anchor}`)?.scrollIntoView();
  else window.scrollTo(0, 0);
}

function properties(note: NoteDto): HTMLElement {
  const fm = note.frontmatter ?? {};
  const keys = Object.keys(fm);
  if (keys.length === 0) return h("div");
  const rows = keys.map((k) => {
    const v = fm[k];
    const text = Array.isArray(v) ? v.join(", ") : typeof v === "object" && v !== null ? JSON.stringify(v) : String(v);
    return h("tr", {}, h("th", { scope: "row" }, k), h("td", {}, text));
  });
  return h("details", { class: "properties", open: "" }, h("summary", {}, "Properties"), h("table", {}, h("tbody", {}, ...rows)));
}

function sidePanels(note: NoteDto): HTMLElement[] {
  const outline = h("nav", { "aria-label": "Outline", class: "panel" }, h("h2", {}, "Outline"));
  const ol = h("ul", { id: "outline" });
  for (const hd of note.headings) {
    const a = h("a", { href: `${noteHref(state.vault, note.path)}?h=${encodeURIComponent(hd.anchor)}` }, hd.text);
    ol.append(h("li", { class: `level-${hd.level}` }, a));
  }
  outline.append(note.headings.length ? ol : h("p", { class: "empty" }, "No headings"));

  const back = h("section", { "aria-label": "Backlinks", class: "panel" }, h("h2", {}, `Backlinks (${note.backlinks_total})`));
  const bl = h("ul", { id: "backlinks" });
  for (const b of note.backlinks) {
    bl.append(h("li", {}, h("a", { href: noteHref(state.vault, b.source) }, b.title), h("p", { class: "context" }, b.context)));
  }
  back.append(note.backlinks.length ? bl : h("p", { class: "empty" }, "No backlinks"));

  const out = h("section", { "aria-label": "Outgoing links", class: "panel" }, h("h2", {}, "Outgoing links"));
  const ul = h("ul", { id: "outgoing" });
  const seen = new Set<string>();
  for (const l of note.links) {
    const key = l.resolved ?? `?${l.target}`;
    if (seen.has(key)) continue;
    seen.add(key);
    ul.append(h("li", {}, l.resolved
      ? h("a", { href: noteHref(state.vault, l.resolved) }, l.resolved)
      : h("span", { class: "is-unresolved", title: "Not created yet" }, l.target)));
  }
  out.append(note.links.length ? ul : h("p", { class: "empty" }, "No links"));
  return [outline, back, out];
}

/** Fills `span.embed[data-note]` with the embedded note (or its section), one level deep. */
async function expandEmbeds(body: HTMLElement): Promise<void> {
  const embeds = [...body.querySelectorAll<HTMLElement>("span.embed[data-note]")];
  await Promise.all(embeds.map(async (span) => {
    try {
      const r = await json<Rendered>(`vaults/${enc(state.vault)}/notes/${enc(span.dataset.note!)}/html`);
      const box = h("div", { class: "embed-content" });
      box.innerHTML = r.html; // sanitised on the server
      box.querySelectorAll("[id]").forEach((el) => el.removeAttribute("id"));
      const fragment = span.dataset.fragment;
      if (fragment) {
        const tmp = h("div");
        tmp.innerHTML = r.html;
        const start = tmp.querySelector(`[id="n-${CSS.escape(fragment)}"]`);
        if (start) {
          const level = Number(start.tagName.slice(1)) || 6;
          const part: Node[] = [start.cloneNode(true)];
          for (let el = start.nextElementSibling; el; el = el.nextElementSibling) {
            if (/^H[1-6]$/.test(el.tagName) && Number(el.tagName.slice(1)) <= level) break;
            part.push(el.cloneNode(true));
          }
          box.replaceChildren(...part);
        }
      }
      await loadImages(box);
      span.append(box);
    } catch { /* the link stays */ }
  }));
}

/** Through the gateway an <img> cannot send the key: fetch such images and show blobs. */
async function loadImages(root: HTMLElement): Promise<void> {
  if (!currentKey()) return;
  await Promise.all([...root.querySelectorAll<HTMLImageElement>("img[src^='api/v1/']")].map(async (img) => {
    const response = await api(img.getAttribute("src")!.slice("api/v1/".length));
    if (response.ok) img.src = URL.createObjectURL(await response.blob());
  }));
}

// ----------------------------------------------------------------------------------------
// Editing with If-Match, and the conflict view

let editorModule: Promise<typeof import("./editor")> | null = null;
let activeEditor: import("./editor").Editor | null = null;

/**
 * Replaces the note with a CodeMirror editor of its Markdown (loaded on first use). The
 * Markdown is fetched past the HTTP cache: Chromium was seen answering it with the cached JSON
 * of the same URL (both carry the same ETag), and an edit must start from the file as it is.
 */
async function startEdit(): Promise<void> {
  const note = state.note;
  if (!note) return;
  editorModule ??= import("./editor");
  const [response, { createEditor }] = await Promise.all([
    api(`vaults/${enc(state.vault)}/notes/${enc(note.path)}`, { headers: { Accept: "text/markdown" }, cache: "no-store" }),
    editorModule,
  ]);
  if (!response.ok) return showError(await apiError(response));
  const etag = response.headers.get("ETag");
  const text = await response.text();
  state.editing = true;
  const host = h("div", { class: "editor-host" });
  const save = h("button", { type: "button", id: "save-button" }, "Save");
  const cancel = h("button", { type: "button" }, "Cancel");
  const status = h("p", { id: "edit-status", role: "status" });
  $("view").replaceChildren(h("h1", {}, `Editing ${note.title}`), host, h("div", { class: "toolbar" }, save, cancel), status);
  closeEditor();
  const editor = createEditor(host, text, `Markdown of ${note.title}`, () => save.click());
  activeEditor = editor;
  save.onclick = () => saveEdit(note.path, editor.text(), etag, status);
  cancel.onclick = () => { state.editing = false; render(); };
  document.body.dataset.editor = "codemirror";
  editor.focus();
}

function closeEditor(): void {
  activeEditor?.destroy();
  activeEditor = null;
  delete document.body.dataset.editor;
}

async function saveEdit(path: string, text: string, etag: string | null, status: HTMLElement, force = false): Promise<void> {
  const headers: Record<string, string> = { "Content-Type": "text/markdown; charset=utf-8" };
  if (etag) headers["If-Match"] = etag;
  const response = await api(`vaults/${enc(state.vault)}/notes/${enc(path)}`, { method: "PUT", headers, body: text });
  if (response.ok) {
    state.editing = false;
    status.textContent = "Saved";
    await render();
    return;
  }
  if (response.status === 412 && !force) return showConflict(path, text);
  status.textContent = (await apiError(response)).message;
}

/** The note changed since the edit began: both versions side by side, the person chooses. */
async function showConflict(path: string, mine: string): Promise<void> {
  const response = await api(`vaults/${enc(state.vault)}/notes/${enc(path)}`, { headers: { Accept: "text/markdown" }, cache: "no-store" });
  const theirs = response.ok ? await response.text() : "";
  const etag = response.headers.get("ETag");
  const keepMine = h("button", { type: "button", id: "keep-mine" }, "Keep my version");
  const takeTheirs = h("button", { type: "button", id: "take-theirs" }, "Use the version on disk");
  const status = h("p", { role: "status" });
  keepMine.onclick = () => saveEdit(path, mine, etag, status, true);
  takeTheirs.onclick = () => { state.editing = false; render(); };
  const pre = (label: string, text: string, id: string) =>
    h("section", { class: "version", "aria-label": label }, h("h2", {}, label), h("pre", { id }, text));
  $("view").replaceChildren(
    h("div", { id: "conflict", role: "alert", class: "conflict" },
      h("h1", {}, "This note changed while you were editing"),
      h("p", {}, "Nothing was overwritten. Choose which version to keep."),
      h("div", { class: "versions" }, pre("Your version", mine, "mine"), pre("On disk now", theirs, "theirs")),
      h("div", { class: "toolbar" }, keepMine, takeTheirs), status),
  );
}

// ----------------------------------------------------------------------------------------
// Create, rename (links rewritten by the server), delete (to the vault's .trash/)

/** An inline form in place of the note: one labelled field, a submit and a cancel button. */
function inlineForm(id: string, heading: string, label: string, value: string, submit: string,
  onSubmit: (value: string, status: HTMLElement) => Promise<void>): void {
  const input = h("input", { id: `${id}-input`, type: "text", value, required: "", autocomplete: "off" }) as HTMLInputElement;
  const status = h("p", { role: "status", id: `${id}-status` });
  const cancel = h("button", { type: "button" }, "Cancel");
  cancel.onclick = () => render();
  const form = h("form", { id, class: "inline-form" },
    h("h1", {}, heading), h("label", { for: `${id}-input` }, label), input,
    h("div", { class: "toolbar" }, h("button", { type: "submit" }, submit), cancel), status);
  form.onsubmit = (e) => { e.preventDefault(); onSubmit(input.value.trim(), status); };
  // Like editing: live updates must not replace the form under the person's hands.
  state.editing = true;
  $("view").replaceChildren(form);
  input.focus();
}

function withMd(path: string): string {
  return path.toLowerCase().endsWith(".md") ? path : `${path}.md`;
}

function askCreate(): void {
  inlineForm("create-form", "New note", "Path of the new note (folders with /)", "", "Create", async (value, status) => {
    if (!value) return;
    const path = withMd(value);
    const title = path.split("/").pop()!.replace(/\.md$/i, "");
    const response = await api(`vaults/${enc(state.vault)}/notes/${enc(path)}`, {
      method: "PUT", headers: { "Content-Type": "text/markdown; charset=utf-8", "If-None-Match": "*" }, body: `# ${title}\n`,
    });
    if (!response.ok) { status.textContent = (await apiError(response)).message; return; }
    location.hash = noteHref(state.vault, path);
  });
}

function askRename(note: NoteDto): void {
  inlineForm("rename-form", `Rename ${note.title}`, "New path (links to it are rewritten)", note.path, "Rename", async (value, status) => {
    if (!value) return;
    const to = withMd(value);
    const response = await api(`vaults/${enc(state.vault)}/notes/${enc(note.path)}/move`, {
      method: "POST", headers: { "Content-Type": "application/json", ...(state.etag ? { "If-Match": state.etag } : {}) },
      body: JSON.stringify({ to }),
    });
    if (!response.ok) { status.textContent = (await apiError(response)).message; return; }
    const result = await response.json() as { rewritten: unknown[] };
    $("status").textContent = `Renamed; links rewritten in ${result.rewritten.length} notes`;
    location.hash = noteHref(state.vault, to);
  });
}

function askDelete(note: NoteDto): void {
  const go = h("button", { type: "button", id: "confirm-delete" }, "Move to trash");
  const cancel = h("button", { type: "button" }, "Cancel");
  const status = h("p", { role: "status" });
  cancel.onclick = () => render();
  go.onclick = async () => {
    const response = await api(`vaults/${enc(state.vault)}/notes/${enc(note.path)}`, {
      method: "DELETE", headers: state.etag ? { "If-Match": state.etag } : {},
    });
    if (!response.ok) { status.textContent = (await apiError(response)).message; return; }
    const result = await response.json() as { trashed_to: string | null };
    $("status").textContent = `Moved to ${result.trashed_to ?? "nowhere"}`;
    location.hash = `#/v/${encodeURIComponent(state.vault)}/`;
  };
  state.editing = true;
  $("view").replaceChildren(h("div", { id: "delete-form", role: "alertdialog", "aria-labelledby": "delete-title" },
    h("h1", { id: "delete-title" }, `Delete ${note.title}?`),
    h("p", {}, `${note.path} goes to the vault's .trash/ folder; links to it stay and show as unresolved.`),
    h("div", { class: "toolbar" }, go, cancel), status));
  go.focus();
}

function showError(e: ApiError): void {
  $("status").textContent = e.message;
}

// ----------------------------------------------------------------------------------------
// Home, routing, live updates

async function showHome(): Promise<void> {
  const list = await json<{ items: { path: string; title: string }[] }>(`vaults/${enc(state.vault)}/notes?sort=-modified&limit=30`);
  document.title = "Weaver";
  const create = h("button", { type: "button", id: "new-note" }, "New note");
  create.onclick = () => askCreate();
  $("view").replaceChildren(
    h("h1", {}, state.vault),
    ...(state.canWrite ? [h("div", { class: "toolbar" }, create)] : []),
    h("p", {}, "Recently changed notes. Search with / or Ctrl-K."),
    h("ul", { id: "recent" }, ...list.items.map((n) => h("li", {}, h("a", { href: noteHref(state.vault, n.path) }, n.title)))),
  );
  $("side").replaceChildren();
}

let graphModule: Promise<typeof import("./graph")> | null = null;

async function render(): Promise<void> {
  const r = route();
  state.editing = false;
  closeEditor();
  if (!r.vault) {
    if (state.vaults.length) location.replace(`#/v/${encodeURIComponent(state.vaults[0].name)}/`);
    return;
  }
  if (r.vault !== state.vault) switchVault(r.vault);
  closeResults();
  document.body.dataset.view = r.view || "home";
  if (r.view !== "graph") (await graphModule)?.closeGraph();
  if (r.view === "n") await showNote(r.arg, r.params.get("h"));
  else if (r.view === "graph") {
    graphModule ??= import("./graph");
    const g = await graphModule;
    $("side").replaceChildren();
    await g.showGraph($("view"), state.vault, r.params.get("local"), Number(r.params.get("depth") ?? "2"), {
      colour: r.params.get("colour") === "tag" ? "tag" : "folder",
      folder: r.params.get("folder") ?? "",
      tag: r.params.get("tag") ?? "",
    });
  } else if (r.view === "tag") {
    $<HTMLInputElement>("search").value = "";
    $("view").replaceChildren(h("h1", {}, `#${r.arg}`), h("ul", { id: "tag-notes" }));
    const results = await json<SearchResults>(`vaults/${enc(state.vault)}/search?tag=${encodeURIComponent(r.arg)}&limit=100`);
    $("tag-notes").replaceChildren(...results.items.map((n) => h("li", {}, h("a", { href: noteHref(state.vault, n.path) }, n.title))));
    $("side").replaceChildren();
  } else await showHome();
  $("view").focus({ preventScroll: true });
}

/** Fills the folder and tag filters of the search from the vault's tags and note paths. */
async function loadFilters(vault: string): Promise<void> {
  const [tags, notes] = await Promise.all([
    json<{ items: { name: string; notes: number }[] }>(`vaults/${enc(vault)}/tags`),
    json<{ items: { path: string }[] }>(`vaults/${enc(vault)}/notes?limit=1000`),
  ]).catch(() => [{ items: [] }, { items: [] }] as const);
  if (vault !== state.vault) return;
  const folders = new Set<string>();
  for (const n of notes.items) {
    const parts = n.path.split("/").slice(0, -1);
    for (let i = 1; i <= parts.length; i++) folders.add(parts.slice(0, i).join("/"));
  }
  const fill = (id: string, all: string, values: string[]) => {
    const select = $<HTMLSelectElement>(id);
    const keep = select.value;
    select.replaceChildren(new Option(all, ""), ...values.map((v) => new Option(v, v)));
    select.value = values.includes(keep) ? keep : "";
  };
  fill("filter-folder", "All folders", [...folders].sort());
  fill("filter-tag", "All tags", tags.items.map((t) => t.name).sort());
}

function switchVault(name: string): void {
  state.vault = name;
  loadFilters(name);
  $<HTMLSelectElement>("vault").value = name;
  $<HTMLAnchorElement>("graph-link").href = `#/v/${encodeURIComponent(name)}/graph`;
  const summary = state.vaults.find((v) => v.name === name);
  if (summary?.read_only) state.canWrite = false;
  state.events?.abort();
  state.events = new AbortController();
  let pending: number | undefined;
  follow(name, (event, data) => {
    if (!event.startsWith("note.") && !event.startsWith("file.")) return;
    clearTimeout(pending);
    pending = window.setTimeout(() => onChange(event, data.path), 150);
  }, state.events.signal);
}

/** A file changed (on disk or through the API): refresh what shows it. */
async function onChange(event: string, path: string): Promise<void> {
  document.body.dataset.lastEvent = `${event} ${path}`;
  const r = route();
  if (!$("results").hidden) runSearch();
  if (r.view === "graph") (await graphModule)?.refreshGraph();
  if (state.editing || r.view !== "n") return;
  if (state.note && (path === state.note.path || event !== "note.updated")) await showNote(state.note.path, null);
}

async function start(): Promise<void> {
  onUnauthorized(askForKey);
  const who = await whoami().catch(() => null);
  if (who) {
    state.canWrite = who.role !== "read";
    $("whoami").textContent = `${who.name} (${who.role})`;
    $("whoami").hidden = false;
  }
  document.body.dataset.canWrite = String(state.canWrite);
  const vaults = await json<{ items: VaultSummary[] }>("vaults");
  state.vaults = vaults.items;
  const select = $<HTMLSelectElement>("vault");
  select.replaceChildren(...vaults.items.map((v) => h("option", { value: v.name }, v.name)));
  select.onchange = () => { location.hash = `#/v/${encodeURIComponent(select.value)}/`; };

  const search = $<HTMLInputElement>("search");
  let timer: number | undefined;
  search.addEventListener("input", () => { clearTimeout(timer); timer = window.setTimeout(runSearch, 120); });
  search.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown") { e.preventDefault(); moveHit(1); }
    else if (e.key === "ArrowUp") { e.preventDefault(); moveHit(-1); }
    else if (e.key === "Enter") { e.preventDefault(); openHit(); }
    else if (e.key === "Escape") { closeResults(); }
  });
  search.addEventListener("focus", () => { if (search.value.trim()) runSearch(); });
  for (const id of ["filter-folder", "filter-tag"]) $(id).addEventListener("change", () => { runSearch(); });
  $("results").addEventListener("click", (e) => { if ((e.target as Element).closest("a")) closeResults(); });
  document.addEventListener("keydown", (e) => {
    const typing = e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement
      || (e.target instanceof HTMLElement && e.target.isContentEditable);
    if ((e.key === "/" && !typing) || (e.key.toLowerCase() === "k" && (e.ctrlKey || e.metaKey))) {
      e.preventDefault();
      search.focus();
      search.select();
    }
  });
  window.addEventListener("hashchange", () => { render(); });
  $("forget-key").onclick = () => { setKey(null, false); location.reload(); };
  $("forget-key").hidden = !currentKey();
  await render();
  document.body.dataset.ready = "true";
}

start().catch((e) => {
  $("view").replaceChildren(h("h1", {}, "Weaver cannot start"), h("p", { class: "error" }, String(e?.message ?? e)));
});
