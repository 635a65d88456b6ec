// Every code block of README.md and every example of `tcpwasm help` runs in CI as written
// (test/fixtures/readme-blocks.ts reads them). A js block is written to a temporary directory whose
// node_modules/tcpwasm is this package (its package.json exports, so "tcpwasm" and "tcpwasm/node"
// resolve to the built dist/ exactly as for a user: `npm run build` first), run with Node, and must
// exit 0 by itself (an open handle would keep it alive: the process lifetime is node:net's) and print
// what its `// prints:` comments say. A block that cannot run alone names the test that runs it.
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectedPrints, readmeBlocks } from "../fixtures/readme-blocks.js";

const ROOT = new URL("../..", import.meta.url).pathname;
const RUN_MS = 60_000;
let dir: string;

beforeAll(() => {
  if (!existsSync(join(ROOT, "dist/index.js"))) throw new Error("readme.test.ts runs the built package: `npm run build` first");
  dir = mkdtempSync(join(tmpdir(), "tcpwasm-readme-"));
  mkdirSync(join(dir, "node_modules"));
  symlinkSync(ROOT, join(dir, "node_modules", "tcpwasm"), "dir");
  // `tcpwasm` on the PATH is the package's bin, as `npm install` links it.
  mkdirSync(join(dir, "bin"));
  writeFileSync(join(dir, "bin", "tcpwasm"), `#!/bin/sh\nexec "${process.execPath}" "${join(ROOT, "dist/cli.js")}" "$@"\n`);
  chmodSync(join(dir, "bin", "tcpwasm"), 0o755);
  // Files the examples name: the relay's token file.
  writeFileSync(join(dir, "relay.token"), "readme-example-token\n");
  // `npx tcpwasm` finds it where npm links a dependency's bin.
  mkdirSync(join(dir, "node_modules", ".bin"));
  symlinkSync(join(dir, "bin", "tcpwasm"), join(dir, "node_modules", ".bin", "tcpwasm"));
  // A block that needs the internet runs with fetch answered here: DNS over HTTPS in the JSON form
  // (RFC 8484's JSON sibling, as Cloudflare serves it), every name 192.0.2.1 (RFC 5737).
  writeFileSync(join(dir, "offline-fetch.mjs"), `globalThis.fetch = async (url) => {
  const u = new URL(url);
  if (u.hostname !== "cloudflare-dns.com") throw new TypeError("offline: " + u.hostname);
  const type = u.searchParams.get("type");
  const Answer = type === "A" ? [{ name: u.searchParams.get("name"), type: 1, TTL: 300, data: "192.0.2.1" }] : [];
  return new Response(JSON.stringify({ Status: 0, Answer }), { headers: { "content-type": "application/dns-json" } });
};
`);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `command args` in the temp dir (its bin/ first on the PATH); kills it after RUN_MS. */
function run(command: string, args: string[], extraEnv: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: dir,
      env: { ...process.env, PATH: `${join(dir, "bin")}:${process.env.PATH}`, ...extraEnv },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c));
    child.stderr.on("data", (c: Buffer) => (stderr += c));
    // The whole process group: a shell example's background jobs go too.
    const timer = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), RUN_MS);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // The group is gone already.
      }
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Runs `command args` until its stdout matches `ready`, then stops its process group (SIGTERM). */
function runUntil(command: string, args: string[], ready: RegExp): Promise<Run & { matched: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: dir, env: { ...process.env, PATH: `${join(dir, "bin")}:${process.env.PATH}` }, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let stdout = "";
    let stderr = "";
    let matched = false;
    const stop = () => {
      try {
        process.kill(-child.pid!, "SIGTERM");
      } catch {
        // Gone already.
      }
    };
    const timer = setTimeout(stop, RUN_MS);
    child.stdout.on("data", (c: Buffer) => {
      stdout += c;
      if (!matched && ready.test(stdout)) {
        matched = true;
        // Up: the check is done; null code below means it was still running when stopped.
        resolve({ code: null, signal: null, stdout, stderr, matched });
        clearTimeout(timer);
        stop();
      }
    });
    child.stderr.on("data", (c: Buffer) => (stderr += c));
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, matched });
    });
  });
}

function checkPrints(code: string, r: Run): void {
  const out = r.stdout.split("\n").map((l) => l.trim());
  for (const text of expectedPrints(code)) expect({ prints: text, found: out.includes(text) }).toEqual({ prints: text, found: true });
}

const blocks = readmeBlocks();

describe("README.md code blocks", () => {
  it("every block is a kind this test runs, or says why not and names an existing test that runs it", () => {
    for (const b of blocks) {
      const where = `README.md:${b.line} (${b.heading}, ${b.lang})`;
      if (b.note) {
        expect({ where, runsIn: b.note.runsIn, exists: existsSync(join(ROOT, b.note.runsIn)) }).toEqual({ where, runsIn: b.note.runsIn, exists: true });
      } else {
        expect({ where, runnable: b.lang === "js" || b.lang === "sh" }).toEqual({ where, runnable: true });
      }
    }
  });

  it("a block marked as run elsewhere is run there: the named test reads README.md", () => {
    // Root's blocks (namespaces, TUN and TAP devices) name the interop test that takes the same steps
    // programmatically; the repository's own commands name the CI script that runs them.
    for (const b of blocks.filter((x) => x.note && x.note.runsIn.endsWith(".ts") && !x.note.why.startsWith("root"))) {
      expect({ block: b.line, test: b.note!.runsIn, readsReadme: /README/.test(readFileSync(join(ROOT, b.note!.runsIn), "utf8")) })
        .toEqual({ block: b.line, test: b.note!.runsIn, readsReadme: true });
    }
  });

  const here = "test/host/readme.test.ts";
  for (const b of blocks.filter((x) => x.lang === "js" && (!x.note || x.note.runsIn === here))) {
    const offline = b.note?.why.startsWith("needs the internet");
    it(`README.md:${b.line} (${b.heading}) runs with Node${offline ? " (fetch answered here)" : ""}, exits 0 by itself, prints what it says`, async () => {
      const file = join(dir, `readme-${b.line}.mjs`);
      writeFileSync(file, b.code);
      const r = await run(process.execPath, [...(offline ? ["--import", pathToFileURL(join(dir, "offline-fetch.mjs")).href] : []), file]);
      expect({ code: r.code, signal: r.signal, stderr: r.stderr }).toEqual({ code: 0, signal: null, stderr: "" });
      checkPrints(b.code, r);
    }, RUN_MS + 5000);
  }

  // A server's command line: it must come up (print its "listening" line) and stay up until stopped.
  for (const b of blocks.filter((x) => x.lang === "sh" && x.note?.runsIn === here && x.note.why.startsWith("a server"))) {
    it(`README.md:${b.line} (${b.heading}) starts the server as written; it listens until stopped`, async () => {
      const r = await runUntil("sh", ["-e", "-c", b.code], /listening/);
      expect({ listening: r.matched, exitedEarly: r.code !== null, stderr: r.stderr }).toEqual({ listening: true, exitedEarly: false, stderr: "" });
    }, RUN_MS + 5000);
  }

  for (const b of blocks.filter((x) => !x.note && x.lang === "sh")) {
    it(`README.md:${b.line} (${b.heading}) runs with sh, exits 0`, async () => {
      const r = await run("sh", ["-e", "-c", b.code]);
      expect({ code: r.code, signal: r.signal }).toEqual({ code: 0, signal: null });
      checkPrints(b.code, r);
    }, RUN_MS + 5000);
  }
});

describe("README.md's API reference", () => {
  it("is the list src/build/api-reference.mjs generates from dist/*.d.ts (every export, its doc's first sentence)", async () => {
    const r = await run(process.execPath, [join(ROOT, "src/build/api-reference.mjs"), "--check"]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
  });
});

describe("tcpwasm help examples", () => {
  it("the examples section runs as written with sh, exits 0, and prints what it says", async () => {
    const help = (await run("tcpwasm", ["help"])).stdout;
    const section = /\nexamples[^\n]*:\n((?:  .*\n)+)/.exec(help);
    expect(section).not.toBeNull();
    const script = section![1]!.split("\n").map((l) => l.replace(/^  /, "")).join("\n");
    const r = await run("sh", ["-e", "-c", script]);
    expect({ code: r.code, signal: r.signal, stderr: r.stderr.replace(/^tcpwasm serve: .*\n/gm, "") }).toEqual({ code: 0, signal: null, stderr: "" });
    checkPrints(script, r);
  }, RUN_MS + 5000);
});
