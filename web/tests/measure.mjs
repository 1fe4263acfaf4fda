// Measures the web UI in headless Chromium against a running server (not a test: it prints
// numbers). Usage: node web/tests/measure.mjs BASE_URL PLAYWRIGHT_DIR NOTE_PATH
// For each renderer (WebGL through SwiftShader, and the canvas fallback): time until a note's
// body is shown, time until the whole-vault graph is drawn, frames per second while panning
// it for three seconds, and the bytes the page transferred.

import { createRequire } from "node:module";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const [base, playwrightDir, note] = process.argv.slice(2);
const { chromium } = createRequire(join(resolve(playwrightDir), "/"))("playwright-core");
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

for (const webgl of [true, false]) {
  const profile = mkdtempSync(join(tmpdir(), "weaver-measure-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium", headless: true,
    args: webgl ? [...ARGS, "--enable-unsafe-swiftshader"] : ARGS, viewport: { width: 1280, height: 860 },
  });
  const page = context.pages()[0] ?? await context.newPage();
  let bytes = 0;
  page.on("response", async (r) => { try { bytes += (await r.body()).length; } catch { /* streams */ } });
  let t = Date.now();
  await page.goto(`${base}/#/v/default/n/${note.split("/").map(encodeURIComponent).join("/")}`);
  await page.waitForSelector("#note-body", { timeout: 60_000 });
  const notePaint = Date.now() - t;
  t = Date.now();
  await page.evaluate(() => { location.hash = "#/v/default/graph"; });
  await page.waitForSelector("#graph[data-rendered=true]", { timeout: 300_000 });
  const graphFrame = Date.now() - t;
  const renderer = await page.locator("#graph").getAttribute("data-renderer");
  const box = await page.locator("#graph").boundingBox();
  const frames = page.evaluate(() => new Promise((done) => {
    let n = 0; const end = performance.now() + 3000;
    const tick = (now) => { n++; if (now < end) requestAnimationFrame(tick); else done(n / 3); };
    requestAnimationFrame(tick);
  }));
  const cx = box.x + box.width / 2, cy = box.y + box.height / 2;
  await page.mouse.move(cx, cy);
  await page.mouse.down();
  for (let i = 0; i < 60; i++) await page.mouse.move(cx + 200 * Math.sin(i / 6), cy + 120 * Math.cos(i / 6), { steps: 2 });
  await page.mouse.up();
  const fps = await frames;
  console.log(JSON.stringify({ renderer, note_body_ms: notePaint, graph_drawn_ms: graphFrame, fps_while_panning: Math.round(fps), bytes_received: bytes }));
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
