// Runs a module in a real page of Debian's headless chromium, driven by playwright-core (no browser
// download: `executablePath` points at /usr/bin/chromium), and hands its JSON result back to Node.
//
// The page is served by a static HTTP server on 127.0.0.1 (random port) that exists for one run:
//   /              a blank page whose only script is a <script type="module"> loading /runner.js
//   /runner.js     imports /page.js, calls its default export with `input`, reports the result
//   /page.js       the page script given to runInPage (ES module source, no bundler)
//   /dist/...      the built package as it ships (`npm run build` first): dist/tcpwasm.browser.js,
//                  dist/index.js and dist/chunks/
//   anything in `modules`: a test-side TypeScript or JavaScript file bundled for the browser by esbuild
// No import map and no bundler touch /page.js or /dist: the page imports the package files by URL, as
// someone with a plain <script type="module"> would.
//
// A run fails on any console error, uncaught page error or unhandled rejection in the page, on any
// request the server could not answer, on a page crash, and when the page script does not finish in
// time. The browser, the server and the temporary profile directory are always cleaned up.
import { constants, accessSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, extname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { BrowserContext, ConsoleMessage } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";
/** The package root: the nearest directory up from this file whose package.json names tcpwasm (this file may run bundled elsewhere, as the benches do). */
function packageRoot(): string {
  let dir = fileURLToPath(new URL(".", import.meta.url));
  for (;;) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, "utf8")) as { name?: string }).name === "tcpwasm") return dir;
    const up = dirname(dir);
    if (up === dir) return fileURLToPath(new URL("../..", import.meta.url));
    dir = up;
  }
}
export const ROOT = packageRoot();
const DIST = join(ROOT, "dist");

/**
 * Fixed flags: headless, no sandbox (CI runs as root in a container), and nothing that talks to the
 * network on its own (QUIC, component updates, sync, background fetches); the only network is the
 * test server on 127.0.0.1.
 */
export const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const LAUNCH_TIMEOUT_MS = 20_000;
const CLOSE_TIMEOUT_MS = 10_000;
const DEFAULT_RUN_TIMEOUT_MS = 30_000;

export interface ChromiumProbe {
  ok: boolean;
  /** Why chromium cannot run here ("" when it can). */
  reason: string;
}

export interface RunInPageOptions {
  /** Passed to the page script's default export (through JSON). */
  input?: unknown;
  /**
   * Extra modules the page may import, URL path (such as "/workload.js") to a file on disk. Each is
   * bundled for the browser by esbuild, so test helpers written in TypeScript (and what they import
   * from src/, such as the seeded Prng) run in the page as they run in Node.
   */
  modules?: Record<string, string>;
  /** How long the page script may take, from navigation to its result (default 30 s). */
  timeoutMs?: number;
}

/** Why a page run failed, with everything the page said on the way. */
export class PageRunError extends Error {
  constructor(message: string, readonly consoleMessages: string[], readonly notFound: string[]) {
    const details = [
      consoleMessages.length ? `page console:\n  ${consoleMessages.join("\n  ")}` : "",
      notFound.length ? `not served (404): ${notFound.join(", ")}` : "",
    ].filter(Boolean);
    super([message, ...details].join("\n"));
    this.name = "PageRunError";
  }
}

let playwright: Promise<typeof import("playwright-core")> | undefined;
function loadPlaywright(): Promise<typeof import("playwright-core")> {
  playwright ??= import("playwright-core");
  return playwright;
}

/**
 * Whether this machine can run the browser tests: Debian's chromium is installed, playwright-core is,
 * and chromium actually launches and evaluates a script with the flags above.
 */
export async function canRunChromium(): Promise<ChromiumProbe> {
  try {
    accessSync(CHROMIUM, constants.X_OK);
  } catch {
    return { ok: false, reason: `no ${CHROMIUM} (Debian's chromium package; .ci/run installs it)` };
  }
  try {
    await loadPlaywright();
  } catch (error) {
    return { ok: false, reason: `playwright-core does not load (npm install): ${message(error)}` };
  }
  try {
    const two = await withChromium(async (context) => (context.pages()[0] ?? (await context.newPage())).evaluate(() => 1 + 1));
    if (two !== 2) return { ok: false, reason: `chromium evaluated 1 + 1 as ${String(two)}` };
  } catch (error) {
    return { ok: false, reason: `chromium does not launch: ${message(error)}` };
  }
  return { ok: true, reason: "" };
}

/**
 * Runs `pageScript` in a fresh chromium page and returns what its default export resolved to.
 *
 * `pageScript` is the source of an ES module, served as /page.js. Its default export is called with
 * `options.input` and may be async; its result must survive JSON (send bytes as hex or a digest). It
 * may import "/dist/tcpwasm.browser.js", "/dist/index.js" and the paths in `options.modules`:
 *
 *   const value = await runInPage<{ flavor: string }>(`
 *     import { loadEngine } from "/dist/tcpwasm.browser.js";
 *     export default async () => ({ flavor: (await loadEngine()).flavor });
 *   `);
 *
 * Each call launches its own browser with a new temporary profile and serves the page from its own
 * server; all three are gone when the promise settles. Throws PageRunError when the script throws,
 * times out, or the page logs an error.
 */
export async function runInPage<T = unknown>(pageScript: string, options: RunInPageOptions = {}): Promise<T> {
  if (!existsSync(join(DIST, "tcpwasm.browser.js"))) {
    throw new Error("runInPage serves dist/: run `npm run build` first");
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_RUN_TIMEOUT_MS;
  const files = new Map<string, string>([
    ["/", PAGE_HTML],
    ["/runner.js", runnerSource(options.input)],
    ["/page.js", pageScript],
  ]);
  for (const [path, text] of await bundleModules(options.modules ?? {})) files.set(path, text);
  const notFound: string[] = [];
  const server = await serve(files, notFound);
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    return await withChromium((context) => runPage<T>(context, url, timeoutMs, notFound));
  } finally {
    await closeServer(server);
  }
}

const PAGE_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>tcpwasm browser test</title><link rel="icon" href="data:,">
<script type="module" src="/runner.js"></script>
</head><body></body></html>
`;

/** Imports /page.js dynamically, so that a module that fails to load is reported like a throw. */
function runnerSource(input: unknown): string {
  return `const input = JSON.parse(${JSON.stringify(JSON.stringify(input ?? null))});
let report;
try {
  const page = await import("/page.js");
  if (typeof page.default !== "function") throw new TypeError("the page script has no default export function");
  const value = await page.default(input);
  report = { ok: true, json: JSON.stringify(value === undefined ? null : value) };
} catch (error) {
  report = { ok: false, error: error instanceof Error ? String(error.stack || error) : String(error) };
}
await globalThis.__tcpwasmReport(report);
`;
}

type Report = { ok: true; json: string } | { ok: false; error: string };

async function runPage<T>(context: BrowserContext, url: string, timeoutMs: number, notFound: string[]): Promise<T> {
  const page = context.pages()[0] ?? (await context.newPage());
  const consoleMessages: string[] = [];
  const errors: string[] = [];
  page.on("console", (msg: ConsoleMessage) => {
    const line = `[${msg.type()}] ${msg.text()}`;
    consoleMessages.push(line);
    if (msg.type() === "error") errors.push(line);
  });
  page.on("pageerror", (error: Error) => {
    const line = `[pageerror] ${error.stack ?? error.message}`;
    consoleMessages.push(line);
    errors.push(line);
  });
  let crashed = false;
  page.on("crash", () => (crashed = true));

  let deliver!: (report: Report) => void;
  const reported = new Promise<Report>((resolve) => (deliver = resolve));
  await page.exposeFunction("__tcpwasmReport", (report: Report) => deliver(report));

  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), timeoutMs)));
  let outcome: Report | "timeout";
  try {
    await page.goto(url, { timeout: timeoutMs, waitUntil: "domcontentloaded" });
    outcome = await Promise.race([reported, timedOut]);
  } finally {
    clearTimeout(timer);
  }
  const fail = (why: string) => new PageRunError(why, consoleMessages, notFound);
  if (crashed) throw fail("the page crashed");
  if (outcome === "timeout") throw fail(`the page script did not finish within ${timeoutMs} ms`);
  if (!outcome.ok) throw fail(`the page script threw: ${outcome.error}`);
  if (errors.length > 0) throw fail(`the page reported ${errors.length} error(s)`);
  if (notFound.length > 0) throw fail("the page asked for files the server does not have");
  return JSON.parse(outcome.json) as T;
}

/** Launches chromium with a new temporary profile, runs `use`, then closes it and removes the profile. */
async function withChromium<T>(use: (context: BrowserContext) => Promise<T>): Promise<T> {
  const { chromium } = await loadPlaywright();
  const profile = mkdtempSync(join(tmpdir(), "tcpwasm-chromium-"));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
      timeout: LAUNCH_TIMEOUT_MS,
    });
    try {
      return await use(context);
    } finally {
      await bounded(context.close(), CLOSE_TIMEOUT_MS, "closing chromium");
    }
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

async function bundleModules(modules: Record<string, string>): Promise<Array<[string, string]>> {
  const entries = Object.entries(modules);
  if (entries.length === 0) return [];
  const { build } = await import("esbuild");
  return Promise.all(
    entries.map(async ([path, file]): Promise<[string, string]> => {
      if (!path.startsWith("/") || path.startsWith("/dist/") || ["/", "/runner.js", "/page.js"].includes(path)) {
        throw new Error(`runInPage: module path ${path} must start with / and not shadow the page or dist/`);
      }
      const result = await build({
        entryPoints: [file],
        bundle: true,
        write: false,
        format: "esm",
        platform: "browser",
        target: "es2022",
        logLevel: "silent",
      });
      return [path, result.outputFiles[0]!.text];
    }),
  );
}

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".json": "application/json; charset=utf-8",
};

/** Serves `files` by exact path and dist/ by prefix; records every path it had to answer 404 for. */
function serve(files: Map<string, string>, notFound: string[]): Promise<Server> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://127.0.0.1").pathname);
    let body: string | Buffer | undefined = files.get(path);
    if (body === undefined && path.startsWith("/dist/")) {
      const file = resolve(DIST, `.${path.slice("/dist".length)}`);
      if (file.startsWith(DIST + sep) && statSync(file, { throwIfNoEntry: false })?.isFile()) body = readFileSync(file);
    }
    if (body === undefined || req.method !== "GET") {
      notFound.push(`${req.method} ${path}`);
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
      return;
    }
    const type = CONTENT_TYPES[path === "/" ? ".html" : extname(path)] ?? "application/octet-stream";
    res.writeHead(200, { "content-type": type, "cache-control": "no-store" }).end(body);
  });
  return new Promise((resolveServer, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolveServer(server));
  });
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolveClose) => server.close(() => resolveClose()));
}

async function bounded<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message.split("\n")[0]! : String(error);
}
