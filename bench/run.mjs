// `npm run bench [-- name ...]`: bundles each bench/*.bench.ts with esbuild (they import src/ in
// TypeScript), runs them one after another in this process, prints each one's table and rewrites
// bench/RESULTS.md with the date, the machine and the command.
//
// A bench module default-exports `async () => ({ title, markdown })`: the markdown names its baseline
// and shows ratios measured in the same run (STYLE.md rule 13).
import * as esbuild from "esbuild";
import { readdirSync, writeFileSync, readFileSync, mkdtempSync, mkdirSync, rmSync, existsSync } from "node:fs";
import { join } from "node:path";
import { cpus } from "node:os";
import { pathToFileURL } from "node:url";

const here = new URL(".", import.meta.url).pathname;
const wanted = process.argv.slice(2);
// quick.bench.ts repeats small versions of the other benches' rows: it runs only when named.
const files = readdirSync(here)
  .filter((f) => f.endsWith(".bench.ts"))
  .filter((f) => (wanted.length === 0 ? f !== "quick.bench.ts" : wanted.some((w) => f.startsWith(w))))
  .sort();
// Bundles go under node_modules/.cache so the packages left external (tinybench, the AssemblyScript
// loader) resolve from the project's node_modules; from the OS temp dir they would not.
const cacheDir = join(here, "..", "node_modules", ".cache");
mkdirSync(cacheDir, { recursive: true });
const out = mkdtempSync(join(cacheDir, "tcpwasm-bench-"));
const sections = [];
for (const f of files) {
  const outfile = join(out, f.replace(/\.ts$/, ".mjs"));
  await esbuild.build({
    entryPoints: [join(here, f)], outfile, bundle: true, format: "esm", platform: "node",
    target: "node20", packages: "external", logLevel: "warning",
  });
  const mod = await import(pathToFileURL(outfile).href);
  console.error(`bench: ${f}`);
  const { title, markdown } = await mod.default();
  console.log(`\n## ${title}\n\n${markdown}\n`);
  sections.push({ file: f, title, markdown });
}
rmSync(out, { recursive: true, force: true });

// RESULTS.md keeps one section per bench file; a partial run replaces only the sections it ran.
const resultsPath = join(here, "RESULTS.md");
const kept = new Map();
if (existsSync(resultsPath)) {
  const text = readFileSync(resultsPath, "utf8");
  for (const m of text.matchAll(/<!-- bench:(\S+) -->\n([\s\S]*?)<!-- \/bench -->/g)) kept.set(m[1], m[2]);
}
const cmd = `npm run bench${wanted.length ? " -- " + wanted.join(" ") : ""}`;
const stamp = `${new Date().toISOString().slice(0, 10)}, ${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, Node ${process.version}`;
for (const s of sections) {
  kept.set(s.file, `## ${s.title}\n\nMeasured ${stamp} with \`${cmd}\`.\n\n${s.markdown}\n`);
}
const body = [...kept.entries()].sort(([a], [b]) => a.localeCompare(b))
  .map(([f, md]) => `<!-- bench:${f} -->\n${md}<!-- /bench -->`).join("\n\n");
writeFileSync(resultsPath, `# Benchmark results\n\nLatest figures, one section per bench file. Ratios are measured in the same process and run\nas their baseline; absolute numbers vary on these shared machines.\n\n${body}\n`);
