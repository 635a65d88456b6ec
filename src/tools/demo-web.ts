// `tcpwasm demo --web`: serves the browser demo (src/web-demo/, built into dist/demo/) on the loopback
// with node:http, prints its URL, and runs until SIGINT or SIGTERM. Everything runs in the page: this
// server only hands out the page's two files.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";

/** The page's files, beside the built CLI (dist/cli.js -> dist/demo/). */
const FILES: Record<string, { file: string; type: string }> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/index.html": { file: "index.html", type: "text/html; charset=utf-8" },
  "/demo.js": { file: "demo.js", type: "text/javascript; charset=utf-8" },
};

export async function serveWebDemo(port: number): Promise<number> {
  // dist/cli.js holds this code; were it moved into a shared chunk (dist/chunks/), the page would be
  // one folder up. Fail at start, not at the first request, when the page was not built.
  const candidates = [new URL("./demo/", import.meta.url), new URL("../demo/", import.meta.url)];
  let base: URL | undefined;
  for (const c of candidates) {
    if (await readFile(new URL("index.html", c)).then(() => true, () => false)) {
      base = c;
      break;
    }
  }
  if (!base) throw new Error(`the page is missing: ${new URL("index.html", candidates[0]).pathname} (npm run build makes it)`);
  const dir = base;
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    const entry = FILES[path];
    if (!entry || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(entry ? 405 : 404, { "content-type": "text/plain" }).end(entry ? "method not allowed\n" : "not found\n");
      return;
    }
    readFile(new URL(entry.file, dir)).then(
      (body) => res.writeHead(200, { "content-type": entry.type, "content-length": body.length, "cache-control": "no-store" }).end(req.method === "HEAD" ? undefined : body),
      () => res.writeHead(500, { "content-type": "text/plain" }).end("the page's files are missing\n"),
    );
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
