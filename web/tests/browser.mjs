// The web UI in a real browser: Debian's Chromium driven headless by playwright-core against
// `weaver serve` of a scratch copy of demo-vault (plus a hostile note).
//
//   node web/tests/browser.mjs PATH/TO/weaver PLAYWRIGHT_DIR
//
// PLAYWRIGHT_DIR is a folder with node_modules/playwright-core and @axe-core/playwright
// (.ci/run installs them under target/). Without /usr/bin/chromium the script says so and exits 0, unless CI is set.
// A hostile note is added for its scenario only. Scenarios: load; search as you type and open a hit with the keyboard; follow a wikilink,
// back and forward; the graph renders with the API's node and edge counts (WebGL, and the
// canvas fallback in a browser without WebGL); keyboard-only navigation; no serious axe-core
// violations; an external edit appears without a reload; an edit conflict is shown and
// resolved; CodeMirror edits and saves with If-Match; the graph's colour and folder/tag filters;
// the dark theme; at a phone's width nothing scrolls sideways and the app shell stays under
// 300 KB; a hostile note runs no script; through `weaver gateway`, the key dialog and a
// read-only key without edit controls. Screenshots of the main
// views go to target/ui-screenshots.

import { spawn, execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, appendFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";

const [weaver, playwrightDir] = process.argv.slice(2);
if (!weaver || !playwrightDir) {
  console.error("usage: browser.mjs WEAVER_BINARY PLAYWRIGHT_DIR");
  process.exit(2);
}
const CHROMIUM = "/usr/bin/chromium";
if (!existsSync(CHROMIUM)) {
  if (process.env.CI) throw new Error(`${CHROMIUM} is missing (apt-get install chromium)`);
  console.log(`SKIP: ${CHROMIUM} is not installed (apt-get install chromium); the browser tests did not run`);
  process.exit(0);
}
const requireTools = createRequire(join(resolve(playwrightDir), "/"));
const { chromium } = requireTools("playwright-core");
const AxeBuilder = requireTools("@axe-core/playwright").default;

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const shots = join(repo, "target", "ui-screenshots");
mkdirSync(shots, { recursive: true });
const scratch = mkdtempSync(join(tmpdir(), "weaver-ui-"));
const vault = join(scratch, "vault");
cpSync(join(repo, "demo-vault"), vault, { recursive: true, filter: (p) => !p.includes(".weaver") });


const failures = [];
let passed = 0;
async function step(name, fn) {
  const started = Date.now();
  try {
    await fn();
    passed++;
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    failures.push(name);
    console.log(`FAIL ${name}: ${e?.stack ?? e}`);
  }
}
function assert(cond, message) { if (!cond) throw new Error(message); }

// ---- the server
const server = spawn(weaver, ["serve", "--vault", vault, "--listen", "127.0.0.1:0", "--log-json"], { stdio: ["ignore", "pipe", "pipe"] });
const base = await new Promise((resolveBase, reject) => {
  const timer = setTimeout(() => reject(new Error("weaver serve did not log `listening`")), 60_000);
  for (const stream of [server.stdout, server.stderr]) {
    createInterface({ input: stream }).on("line", (line) => {
      try {
        const f = JSON.parse(line).fields ?? {};
        if (f.message === "listening") { clearTimeout(timer); resolveBase(`http://${f.addr}`); }
      } catch { /* not JSON */ }
    });
  }
  server.on("exit", (code) => reject(new Error(`weaver serve exited with ${code}`)));
});
for (let i = 0; ; i++) {
  const r = await fetch(`${base}/readyz`).catch(() => null);
  if (r?.ok) break;
  if (i > 600) throw new Error("the server did not become ready");
  await new Promise((r) => setTimeout(r, 100));
}
const apiGraph = async () => (await fetch(`${base}/api/v1/vaults/default/graph`)).json();

const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

async function launch(webgl, viewport = { width: 1280, height: 860 }) {
  const profile = mkdtempSync(join(scratch, "profile-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: webgl ? [...ARGS, "--enable-unsafe-swiftshader"] : ARGS,
    viewport,
  });
  const page = context.pages()[0] ?? await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("dialog", (d) => { problems.push(`dialog: ${d.message()}`); d.dismiss(); });
  return { context, page, problems };
}

/** Waits until the index no longer has `path` (a read of a removed file fails sooner). */
async function gone(path) {
  for (let i = 0; (await apiGraph()).nodes.some((n) => n.path === path); i++) {
    assert(i < 100, `${path} is still indexed`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
const title = (page) => page.locator("#note-title").textContent();
async function waitTitle(page, text) {
  await page.waitForFunction((t) => document.querySelector("#note-title")?.textContent === t, text, { timeout: 15_000 });
}

const { context, page, problems } = await launch(true);
try {
  await step("the page loads with the vault", async () => {
    await page.goto(`${base}/`);
    await page.waitForSelector("body[data-ready=true]", { timeout: 20_000 });
    assert(page.url().includes("#/v/default/"), page.url());
    await page.screenshot({ path: join(shots, "home.png") });
  });

  await step("search as you type, keyboard to a hit, Enter opens it", async () => {
    await page.keyboard.press("Control+k");
    assert(await page.evaluate(() => document.activeElement?.id) === "search", "Ctrl-K focuses the search box");
    await page.keyboard.type("atomic notes", { delay: 20 });
    await page.waitForSelector("#results li[role=option]", { timeout: 10_000 });
    assert(await page.locator("#results mark").count() > 0, "snippets are highlighted");
    await page.screenshot({ path: join(shots, "search.png") });
    await page.keyboard.press("ArrowDown");
    const expected = await page.locator("#results li[aria-selected=true] .hit-title").textContent();
    await page.keyboard.press("Enter");
    await waitTitle(page, expected);
    assert(await page.locator("#results").isHidden(), "the results close");
  });

  await step("the folder and tag filters narrow the results", async () => {
    await page.selectOption("#filter-folder", "Concepts");
    await page.fill("#search", "notes");
    await page.waitForFunction(() => {
      const paths = [...document.querySelectorAll("#results .hit-path")].map((e) => e.textContent);
      return paths.length > 0 && paths.every((p) => p.startsWith("Concepts/"));
    }, null, { timeout: 10_000 });
    await page.selectOption("#filter-folder", "");
    await page.fill("#search", "");
    await page.selectOption("#filter-tag", "meta");
    await page.waitForFunction(() => [...document.querySelectorAll("#results .hit-path")].some((e) => e.textContent === "Welcome.md"), null, { timeout: 10_000 });
    await page.selectOption("#filter-tag", "");
    await page.keyboard.press("Escape");
  });

  await step("a wikilink navigates; back and forward", async () => {
    await page.evaluate(() => { location.hash = "#/v/default/n/Welcome.md"; });
    await waitTitle(page, "Welcome to the demo vault");
    assert(await page.locator("#note-body a.internal-link.is-unresolved").count() >= 1, "the unresolved link is marked");
    assert(await page.locator("#outline li").count() >= 1, "the outline is shown");
    assert(await page.locator("#backlinks li").count() >= 1, "backlinks are shown");
    await page.screenshot({ path: join(shots, "note.png"), fullPage: true });
    await page.locator('#note-body a.internal-link[data-note="Weaver.md"]').first().click();
    await waitTitle(page, (await (await fetch(`${base}/api/v1/vaults/default/notes/Weaver.md`)).json()).title);
    await page.goBack();
    await waitTitle(page, "Welcome to the demo vault");
    await page.goForward();
    await page.waitForFunction(() => location.hash.endsWith("/n/Weaver.md"));
  });

  await step("keyboard only: / focuses search, Tab reaches the note's links, Enter follows one", async () => {
    await page.evaluate(() => { location.hash = "#/v/default/n/Welcome.md"; });
    await waitTitle(page, "Welcome to the demo vault");
    await page.locator("body").click({ position: { x: 5, y: 400 } });
    await page.keyboard.press("/");
    assert(await page.evaluate(() => document.activeElement?.id) === "search", "/ focuses the search box");
    await page.keyboard.press("Escape");
    let reached = null;
    for (let i = 0; i < 40 && !reached; i++) {
      await page.keyboard.press("Tab");
      reached = await page.evaluate(() => {
        const a = document.activeElement;
        return a?.matches("#note-body a.internal-link[data-note]") ? a.getAttribute("data-note") : null;
      });
    }
    assert(reached, "Tab never reached a wikilink in the note");
    await page.keyboard.press("Enter");
    await page.waitForFunction((p) => location.hash.endsWith("/n/" + p.split("/").map(encodeURIComponent).join("/")), reached, { timeout: 10_000 });
  });

  await step("no serious or critical accessibility violations (axe-core) in the main views", async () => {
    for (const [hash, ready] of [["#/v/default/n/Welcome.md", "#note-body"], ["#/v/default/graph", "#graph[data-rendered=true]"], ["#/v/default/", "#recent"]]) {
      await page.evaluate((h) => { location.hash = h; }, hash);
      await page.waitForSelector(ready, { timeout: 15_000 });
      const results = await new AxeBuilder({ page }).analyze();
      const bad = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
      assert(bad.length === 0, `${hash}: ${bad.map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`).join("; ")}`);
    }
  });

  await step("an edit on disk appears without a reload", async () => {
    await page.evaluate(() => { location.hash = "#/v/default/n/Welcome.md"; });
    await waitTitle(page, "Welcome to the demo vault");
    await page.evaluate(() => { window.__sameDocument = true; });
    appendFileSync(join(vault, "Welcome.md"), "\nEdited outside the browser, marker 7431.\n");
    await page.waitForFunction(() => document.querySelector("#note-body")?.textContent.includes("marker 7431"), null, { timeout: 15_000 });
    assert(await page.evaluate(() => window.__sameDocument === true), "the page was reloaded");
  });

  await step("CodeMirror edits a note's Markdown and saves it with If-Match", async () => {
    const path = "Concepts/Wikilinks.md";
    const before = await fetch(`${base}/api/v1/vaults/default/notes/${encodeURI(path)}`, { headers: { Accept: "text/markdown" } });
    const etag = before.headers.get("etag");
    const text = await before.text();
    await page.evaluate((p) => { location.hash = `#/v/default/n/${p}`; }, encodeURI(path));
    await page.waitForSelector("#edit-button");
    await page.click("#edit-button");
    await page.waitForSelector("body[data-editor=codemirror] .cm-editor #editor[contenteditable=true]");
    assert(await page.evaluate(() => document.activeElement?.id) === "editor", "the editor has the focus");
    assert(await page.locator("#editor").getAttribute("aria-label") !== null, "the editor has a label");
    // The Markdown shown is the file's, and it is highlighted (a heading line carries a token span).
    const shown = await page.evaluate(() => [...document.querySelectorAll("#editor .cm-line")].map((l) => l.textContent).join("\n"));
    assert(shown.replace(/\n$/, "") === text.replace(/\n$/, ""), `the editor shows other text: ${JSON.stringify(shown.slice(0, 80))}`);
    assert(await page.locator("#editor .cm-line span").count() > 0, "no syntax highlighting");
    // "/" types a slash in the editor instead of jumping to the search box.
    await page.keyboard.press("Control+End");
    await page.keyboard.type("\nSaved from CodeMirror / marker 5521");
    assert(await page.evaluate(() => document.activeElement?.id) === "editor", "typing / left the editor");
    const put = page.waitForRequest((r) => r.method() === "PUT", { timeout: 10_000 });
    await page.keyboard.press("Control+s");
    const request = await put;
    assert(request.headers()["if-match"] === etag, `If-Match ${request.headers()["if-match"]} != ${etag}`);
    await page.waitForFunction(() => document.querySelector("#note-body")?.textContent.includes("marker 5521"), null, { timeout: 10_000 });
    assert(readFileSync(join(vault, path), "utf8") === `${text}\nSaved from CodeMirror / marker 5521`, "the file holds what was typed");
    assert(await page.locator(".cm-editor").count() === 0, "the editor closes after saving");
  });

  await step("an edit conflict shows both versions and overwrites nothing", async () => {
    await page.evaluate(() => { location.hash = "#/v/default/n/Inbox idea.md"; });
    await page.waitForSelector("#edit-button");
    await page.click("#edit-button");
    await page.waitForSelector("body[data-editor=codemirror] .cm-editor #editor");
    await page.locator("#editor").fill("# Mine\nMy browser version.\n");
    writeFileSync(join(vault, "Inbox idea.md"), "# Theirs\nChanged on disk meanwhile.\n");
    await page.click("#save-button");
    await page.waitForSelector("#conflict", { timeout: 10_000 });
    assert((await page.locator("#mine").textContent()).includes("My browser version"), "mine is shown");
    assert((await page.locator("#theirs").textContent()).includes("Changed on disk meanwhile"), "theirs is shown");
    assert(readFileSync(join(vault, "Inbox idea.md"), "utf8").includes("Changed on disk"), "the file was overwritten");
    await page.screenshot({ path: join(shots, "conflict.png") });
    await page.click("#keep-mine");
    await page.waitForFunction(() => document.querySelector("#note-body")?.textContent.includes("My browser version"), null, { timeout: 10_000 });
    assert(readFileSync(join(vault, "Inbox idea.md"), "utf8").includes("My browser version"), "keeping mine saves it");
  });

  await step("create, rename (links rewritten) and delete (to .trash/) from the UI", async () => {
    // A note linking to the one about to be created, so the rename has a link to rewrite.
    writeFileSync(join(vault, "Linker.md"), "See [[Made in browser]].\n");
    for (let i = 0; !(await fetch(`${base}/api/v1/vaults/default/notes/Linker.md`)).ok; i++) {
      assert(i < 100, "Linker.md was not indexed");
      await new Promise((r) => setTimeout(r, 100));
    }
    await page.evaluate(() => { location.hash = "#/v/default/"; });
    await page.waitForSelector("#new-note");
    await page.click("#new-note");
    await page.fill("#create-form-input", "Scratch/Made in browser");
    await page.click("#create-form button[type=submit]");
    await waitTitle(page, "Made in browser");
    assert(existsSync(join(vault, "Scratch/Made in browser.md")), "the file was not created");
    await page.waitForFunction(async () => {
      const r = await fetch("api/v1/vaults/default/notes/Scratch/Made%20in%20browser.md");
      return r.ok && (await r.json()).backlinks_total === 1;
    }, null, { timeout: 10_000, polling: 200 });
    await page.evaluate(() => { location.hash = "#/v/default/n/Scratch/Made%20in%20browser.md"; });
    await page.waitForSelector("#rename-button");
    await page.click("#rename-button");
    await page.fill("#rename-form-input", "Scratch/Renamed in browser");
    await page.click("#rename-form button[type=submit]");
    await waitTitle(page, "Renamed in browser");
    const linker = readFileSync(join(vault, "Linker.md"), "utf8");
    assert(linker.includes("[[Renamed in browser]]"), `the link was not rewritten: ${linker}`);
    await page.click("#delete-button");
    await page.click("#confirm-delete");
    await page.waitForFunction(() => location.hash === "#/v/default/");
    assert(!existsSync(join(vault, "Scratch/Renamed in browser.md")), "the note is still there");
    assert(existsSync(join(vault, ".trash")), "nothing went to .trash/");
    rmSync(join(vault, "Linker.md"));
    await gone("Linker.md");
  });

  await step("a hostile note runs no script", async () => {
    writeFileSync(join(vault, "Hostile.md"), `# Hostile
    
    <script>window.__pwned = "script"</script>
    <img src="x" onerror="window.__pwned = 'onerror'">
    <svg onload="window.__pwned = 'svg'"><script>window.__pwned = 'svg script'</script></svg>
    <a id="js-link" href="javascript:window.__pwned = 'javascript link'">click me</a>
    [md js link](javascript:window.__pwned='markdown')
    <iframe srcdoc="<script>parent.__pwned = 'iframe'</script>"></iframe>
    <details open ontoggle="window.__pwned = 'ontoggle'"><summary>s</summary>x</details>
    <math><mtext><style><img src=x onerror="window.__pwned='mxss'"></style></mtext></math>
    `);
    for (let i = 0; !(await fetch(`${base}/api/v1/vaults/default/notes/Hostile.md`)).ok; i++) {
      assert(i < 100, "the hostile note was not indexed");
      await new Promise((r) => setTimeout(r, 100));
    }
    await page.evaluate(() => { location.hash = "#/v/default/n/Hostile.md"; });
    await waitTitle(page, "Hostile");
    const link = page.locator("#note-body a", { hasText: "click me" });
    if (await link.count()) await link.first().click();
    await page.waitForTimeout(500);
    const pwned = await page.evaluate(() => window.__pwned);
    assert(pwned === undefined, `a script ran: ${pwned}`);
    assert(await page.locator("#note-body script, #note-body iframe, #note-body svg, #note-body [onerror]").count() === 0, "dangerous elements survived");
    assert(!problems.some((p) => p.startsWith("dialog")), problems.join("; "));
    // Out of the vault again, so the graph's screenshot shows the demo vault.
    rmSync(join(vault, "Hostile.md"));
    await gone("Hostile.md");
  });

  await step("the graph renders with the API's counts (WebGL when available)", async () => {
    const webgl = await page.evaluate(() => !!document.createElement("canvas").getContext("webgl2"));
    await page.evaluate(() => { location.hash = "#/v/default/graph"; });
    await page.waitForSelector("#graph[data-rendered=true]", { timeout: 20_000 });
    const box = page.locator("#graph");
    const counts = await apiGraph();
    assert(await box.getAttribute("data-nodes") === String(counts.nodes.length), `nodes ${await box.getAttribute("data-nodes")} != ${counts.nodes.length}`);
    assert(await box.getAttribute("data-edges") === String(counts.edges.length), `edges ${await box.getAttribute("data-edges")} != ${counts.edges.length}`);
    assert(await box.getAttribute("data-renderer") === (webgl ? "webgl" : "canvas"), "renderer");
    console.log(`     renderer: ${await box.getAttribute("data-renderer")}`);
    await page.waitForTimeout(1000);
    await page.screenshot({ path: join(shots, "graph.png") });
  });

  await step("the graph's colour and folder/tag filters change what is drawn", async () => {
    const counts = await apiGraph();
    const box = page.locator("#graph");
    const drawn = async (n) => {
      await page.waitForFunction((n) => document.querySelector("#graph[data-rendered=true]")?.dataset.nodes === String(n), n, { timeout: 15_000 });
    };
    await page.evaluate(() => { location.hash = "#/v/default/graph"; });
    await drawn(counts.nodes.length);
    const legendTotal = () => page.evaluate(() => [...document.querySelectorAll("#graph-legend li")].reduce((sum, li) => sum + Number(li.textContent.match(/\((\d+)\)$/)[1]), 0));
    assert(await legendTotal() === counts.nodes.length, "the legend counts every note");
    // Colour by tag: the legend names tags, the same notes are drawn.
    await page.selectOption("#graph-colour", "tag");
    await page.waitForSelector("#graph-legend[aria-label='Colours by tag']", { timeout: 15_000 });
    await drawn(counts.nodes.length);
    const groups = await page.locator("#graph-legend li").allTextContents();
    assert(groups.every((g) => g.startsWith("#") || g.startsWith("no tag") || / more \(/.test(g)), groups.join(", "));
    assert(page.url().includes("colour=tag"), "the colour is in the route");
    // Filter by tag: only notes with it (and the links among them).
    const tagged = counts.nodes.filter((n) => n.tags.some((t) => t === "meta" || t.startsWith("meta/"))).length;
    assert(tagged > 0 && tagged < counts.nodes.length, `meta tags ${tagged} notes`);
    await page.selectOption("#graph-tag", "meta");
    await drawn(tagged);
    assert(await legendTotal() === tagged, "the legend follows the filter");
    // Filter by folder instead.
    await page.selectOption("#graph-tag", "");
    await drawn(counts.nodes.length);
    const inConcepts = counts.nodes.map((n, i) => [n, i]).filter(([n]) => n.folder === "Concepts" || n.folder.startsWith("Concepts/"));
    const keep = new Set(inConcepts.map(([, i]) => i));
    await page.selectOption("#graph-folder", "Concepts");
    await drawn(inConcepts.length);
    const edges = counts.edges.filter(([s, t]) => keep.has(s) && keep.has(t)).length;
    assert(await box.getAttribute("data-edges") === String(edges), `edges ${await box.getAttribute("data-edges")} != ${edges}`);
    // Back returns to the previous filter (it is part of the route).
    await page.goBack();
    await drawn(counts.nodes.length);
    await page.evaluate(() => { location.hash = "#/v/default/graph"; });
    await drawn(counts.nodes.length);
  });

  await step("dark theme follows the system (page and graph)", async () => {
    await page.emulateMedia({ colorScheme: "dark" });
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert(bg === "rgb(23, 24, 27)", `dark background is ${bg}`);
    await page.evaluate(() => { location.hash = "#/v/default/n/Welcome.md"; });
    await waitTitle(page, "Welcome to the demo vault");
    const results = await new AxeBuilder({ page }).withTags(["wcag2aa"]).analyze();
    const bad = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
    assert(bad.length === 0, `dark: ${bad.map((v) => `${v.id}: ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`).join("; ")}`);
    await page.evaluate(() => { location.hash = "#/v/default/graph"; });
    await page.waitForSelector("#graph[data-rendered=true]", { timeout: 20_000 });
    await page.screenshot({ path: join(shots, "graph-dark.png") });
    await page.emulateMedia({ colorScheme: "light" });
    assert(await page.evaluate(() => getComputedStyle(document.body).backgroundColor) === "rgb(255, 255, 255)", "back to light");
  });

  await step("no page errors", async () => {
    assert(problems.length === 0, problems.join("; "));
  });
} finally {
  await context.close();
}

const phone = await launch(true, { width: 390, height: 844 });
try {
  await step("at a phone's width (390 px) no view scrolls sideways; the app shell stays small", async () => {
    const { page } = phone;
    await page.goto(`${base}/`);
    await page.waitForSelector("body[data-ready=true]", { timeout: 20_000 });
    // What the first load transferred (a fresh profile: nothing cached), over this origin's assets.
    const transferred = () => page.evaluate(() => performance.getEntriesByType("resource").concat(performance.getEntriesByType("navigation"))
      .filter((e) => e.name.includes("/assets/") || e.entryType === "navigation")
      .reduce((sum, e) => sum + e.encodedBodySize, 0));
    const shell = await transferred();
    assert(shell > 0 && shell <= 300 * 1024, `the app shell is ${shell} bytes`);
    const wide = () => page.evaluate(() => {
      const over = [...document.querySelectorAll("body *")].filter((el) => el.getBoundingClientRect().right > innerWidth + 1 && getComputedStyle(el).position !== "fixed")
        .slice(0, 3).map((el) => `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}.${el.className}`);
      return { scroll: document.documentElement.scrollWidth, width: innerWidth, over };
    });
    const narrow = async (what) => {
      const w = await wide();
      assert(w.scroll <= w.width, `${what}: ${w.scroll} px wide in ${w.width} (${w.over.join(", ")})`);
    };
    await narrow("home");
    await page.evaluate(() => { location.hash = "#/v/default/n/Welcome.md"; });
    await waitTitle(page, "Welcome to the demo vault");
    await narrow("note");
    await page.screenshot({ path: join(shots, "phone-note.png"), fullPage: true });
    await page.fill("#search", "notes");
    await page.waitForSelector("#results li[role=option]", { timeout: 10_000 });
    await narrow("search results");
    await page.keyboard.press("Escape");
    await page.click("#edit-button");
    await page.waitForSelector(".cm-editor #editor");
    const withEditor = await transferred();
    await narrow("editor");
    await page.evaluate(() => { location.hash = "#/v/default/graph"; });
    await page.waitForSelector("#graph[data-rendered=true]", { timeout: 20_000 });
    await narrow("graph");
    const graphBox = await page.locator("#graph").boundingBox();
    assert(graphBox.width > 300 && graphBox.width <= 390, `the graph is ${graphBox.width} px wide`);
    await page.screenshot({ path: join(shots, "phone-graph.png") });
    const withGraph = await transferred();
    console.log(`     shell ${shell} B, + editor ${withEditor - shell} B, + graph ${withGraph - withEditor} B (as sent to Chromium: ${await page.evaluate(async () => (await fetch(location.href)).headers.get("content-encoding") ?? "page not encoded")}; assets brotli)`);
    assert(phone.problems.length === 0, phone.problems.join("; "));
  });
} finally {
  await phone.context.close();
}

const fallback = await launch(false);
try {
  await step("without WebGL the graph falls back to a canvas, and a click opens a note", async () => {
    const { page } = fallback;
    await page.goto(`${base}/#/v/default/graph`);
    await page.waitForSelector("#graph[data-rendered=true]", { timeout: 20_000 });
    const webgl = await page.evaluate(() => !!document.createElement("canvas").getContext("webgl2"));
    const box = page.locator("#graph");
    const counts = await apiGraph();
    assert(await box.getAttribute("data-renderer") === (webgl ? "webgl" : "canvas"), "renderer");
    assert(await box.getAttribute("data-nodes") === String(counts.nodes.length), "nodes");
    assert(await box.getAttribute("data-edges") === String(counts.edges.length), "edges");
    if (!webgl) {
      // The canvas is not blank.
      const inked = await page.evaluate(() => {
        const c = document.querySelector("#graph canvas");
        const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
        return n;
      });
      assert(inked > 500, `only ${inked} pixels drawn`);
      await page.screenshot({ path: join(shots, "graph-canvas.png") });
      // Click the node the canvas drew for the first note.
      const point = await page.evaluate(() => window.__weaverGraphPoint?.(0));
      if (point) {
        await page.mouse.click(point.x, point.y);
        await page.waitForFunction(() => location.hash.includes("/n/"), null, { timeout: 10_000 });
      }
    }
    assert(fallback.problems.length === 0, fallback.problems.join("; "));
  });
} finally {
  await fallback.context.close();
}

// ---- through the gateway: the page asks for a key; a read-only key sees no edit controls.
const keysFile = join(scratch, "keys.toml");
const createKey = (name, role) => {
  const out = execFileSync(weaver, ["gateway", "keys", "create", "--name", name, "--role", role, "--vaults", "default", "--file", keysFile], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  return out.match(/^key: (\S+)$/m)[1];
};
const keys = { reader: createKey("reader", "read"), writer: createKey("writer", "write") };
writeFileSync(join(scratch, "gateway.toml"), `[server]\nshutdown_timeout_secs = 5\n\n[upstreams]\napi = ${JSON.stringify(base)}\nmcp = ${JSON.stringify(base)}\ndefault_vault = "default"\n\n[limits]\nidentity_per_second = 0\naddress_per_second = 0\n\n[auth]\napi_keys_file = ${JSON.stringify(keysFile)}\n`);
const gateway = spawn(weaver, ["gateway", "--config", join(scratch, "gateway.toml"), "--listen", "127.0.0.1:0", "--log-json"], { stdio: ["ignore", "pipe", "pipe"] });
const gatewayBase = await new Promise((resolveBase, reject) => {
  const timer = setTimeout(() => reject(new Error("weaver gateway did not log `listening`")), 60_000);
  for (const stream of [gateway.stdout, gateway.stderr]) {
    createInterface({ input: stream }).on("line", (line) => {
      try {
        const f = JSON.parse(line).fields ?? {};
        if (f.message === "listening") { clearTimeout(timer); resolveBase(`http://${f.addr}`); }
      } catch { /* not JSON */ }
    });
  }
  gateway.on("exit", (code) => reject(new Error(`weaver gateway exited with ${code}`)));
});
for (const [name, canEdit] of [["reader", false], ["writer", true]]) {
  const browser = await launch(false);
  try {
    await step(`through the gateway, the ${name} key is asked for and ${canEdit ? "can" : "cannot"} edit`, async () => {
      const { page } = browser;
      await page.goto(`${gatewayBase}/`);
      await page.waitForSelector("#key-dialog[open]", { timeout: 15_000 });
      await page.fill("#key-input", keys[name]);
      await page.click("#key-dialog button[type=submit]");
      await page.waitForSelector("body[data-ready=true]", { timeout: 15_000 });
      assert((await page.locator("#whoami").textContent()).includes(name), "whoami is shown");
      await page.evaluate(() => { location.hash = "#/v/default/n/Welcome.md"; });
      await waitTitle(page, "Welcome to the demo vault");
      assert(await page.locator("#edit-button").count() === (canEdit ? 1 : 0), "edit controls follow the role");
      assert(await page.evaluate(() => localStorage.length) === 0, "the key was stored without 'remember'");
      assert(!page.url().includes(keys[name]), "the key is in the URL");
      if (!canEdit) await page.screenshot({ path: join(shots, "gateway-read-only.png") });
      assert(browser.problems.length === 0, browser.problems.join("; "));
    });
  } finally {
    await browser.context.close();
  }
}
gateway.kill("SIGTERM");

server.kill("SIGTERM");
rmSync(scratch, { recursive: true, force: true });
console.log(`${passed} passed, ${failures.length} failed`);
if (failures.length) process.exit(1);
