// `tcpwasm demo --web`: serves the browser demo (src/web-demo/, built into dist/demo/) on the loopback
// with node:http, prints its URL, and runs until SIGINT or SIGTERM. Everything runs in the page: this
// server only hands out files: the page and its module from dist/demo/, and the package's own browser
// files from dist/ (the page imports dist/tcpwasm.browser.js as any page without a bundler would).
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".wasm": "application/wasm",
};

/** dist/demo/ and dist/ for this file: dist/cli.js holds it, or a shared chunk one folder down. */
async function findDist(): Promise<{ demo: URL; dist: URL }> {
  const candidates = [new URL("./", import.meta.url), new URL("../", import.meta.url)];
  for (const dist of candidates) {
    const demo = new URL("demo/", dist);
    if (await readFile(new URL("index.html", demo)).then(() => true, () => false)) return { demo, dist };
  }
  throw new Error(`the page is missing: ${new URL("demo/index.html", candidates[0]).pathname} (npm run build makes it)`);
}

/** The file a request path names: / is the page, a name in dist/demo/, else a browser file of dist/. */
function fileFor(path: string, where: { demo: URL; dist: URL }): { url: URL; type: string }[] {
  if (path === "/" || path === "/index.html") return [{ url: new URL("index.html", where.demo), type: TYPES[".html"]! }];
  // One or more plain path segments: no dot-segments, no encoded separators, a known type.
  if (!/^(\/[A-Za-z0-9_.-]+)+$/.test(path) || path.split("/").some((s) => s.startsWith("."))) return [];
  const type = TYPES[path.slice(path.lastIndexOf("."))];
  if (!type || type === TYPES[".html"]) return [];
  const rel = path.slice(1);
  return [{ url: new URL(rel, where.demo), type }, { url: new URL(rel, where.dist), type }];
}

export async function serveWebDemo(port: number): Promise<number> {
  const where = await findDist();
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { "content-type": "text/plain", allow: "GET, HEAD" }).end("method not allowed\n");
      return;
    }
    const tries = fileFor(path, where);
    const next = (i: number): void => {
      const t = tries[i];
      if (!t) {
        res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
        return;
      }
      readFile(t.url).then(
        (body) => res.writeHead(200, { "content-type": t.type, "content-length": body.length, "cache-control": "no-store" }).end(req.method === "HEAD" ? undefined : body),
        () => next(i + 1),
      );
    };
    next(0);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  const { port: bound } = server.address() as AddressInfo;
  process.stdout.write(`tcpwasm demo: open http://127.0.0.1:${bound}/ in a browser (Ctrl-C stops)\n`);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
  return 0;
}
