// The real `tcpwasm` command for the interop tests. dist/cli.js is rebuilt (deleted, then rewritten)
// by anyone running `npm run build`, so the tests bundle src/tools/cli.ts themselves, the way the build does
// (esbuild, Node platform, packages external), under node_modules/.cache so the external packages
// resolve. The bundle is removed by `dispose`.

import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

export interface CliBundle {
  /** Path of the bundled command: run it as `node <path> serve ...`. */
  path: string;
  dispose(): void;
}

export async function bundleCli(): Promise<CliBundle> {
  const cache = join(root, "node_modules", ".cache");
  mkdirSync(cache, { recursive: true });
  const dir = mkdtempSync(join(cache, "tcpwi-cli-"));
  const path = join(dir, "cli.mjs");
  try {
    await build({
      entryPoints: [join(root, "src", "tools", "cli.ts")],
      outfile: path,
      bundle: true,
      format: "esm",
      platform: "node",
      target: "node20",
      packages: "external",
      logLevel: "silent",
    });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return { path, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}
