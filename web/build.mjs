// Builds the web UI into dist/: hashed, minified assets and an index.html naming them.
// Deterministic (same sources and lockfile, same bytes), so CI can rebuild and diff.
import * as esbuild from "esbuild";
import { readFileSync, writeFileSync, rmSync, mkdirSync } from "node:fs";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import { basename } from "node:path";

const out = "dist";
rmSync(out, { recursive: true, force: true });
mkdirSync(`${out}/assets`, { recursive: true });
const result = await esbuild.build({
  entryPoints: ["src/main.ts", "src/style.css"],
  bundle: true,
  splitting: true,
  format: "esm",
  minify: true,
  target: "es2022",
  outdir: `${out}/assets`,
  entryNames: "[name]-[hash]",
  chunkNames: "[name]-[hash]",
  metafile: true,
  legalComments: "linked",
  logLevel: "warning",
});
const names = {};
for (const [file, meta] of Object.entries(result.metafile.outputs)) {
  if (meta.entryPoint === "src/main.ts") names["main.js"] = basename(file);
  if (meta.entryPoint === "src/style.css") names["main.css"] = basename(file);
}
const html = readFileSync("index.html", "utf8").replace(/\{\{([a-z.]+)\}\}/g, (_, key) => {
  if (!names[key]) throw new Error(`no output for ${key}`);
  return names[key];
});
writeFileSync(`${out}/index.html`, html);
// Brotli and gzip copies, served to clients that accept them (node writes no timestamp, and
// both encoders are deterministic: reproducible).
const brotli = { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT } };
for (const file of Object.keys(result.metafile.outputs)) {
  if (!/\.(js|css)$/.test(file)) continue;
  const bytes = readFileSync(file);
  writeFileSync(`${file}.gz`, gzipSync(bytes, { level: 9 }));
  writeFileSync(`${file}.br`, brotliCompressSync(bytes, brotli));
}
const sizes = Object.entries(result.metafile.outputs).map(([f, m]) => `${basename(f)} ${m.bytes}`);
console.log(sizes.join("\n"));
