// What keeps a Node process alive, run as child processes over the built package (dist/node.js, as
// `npm run build` leaves it):
// as with node:net, open sockets and listening servers do until unref(), protocol timers (TIME-WAIT
// above all) never do. Each child prints what it reached; the parent watches whether it exits.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let dir: string;

const NODE_ENTRY = fileURLToPath(new URL("../../dist/node.js", import.meta.url));

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "tcpwasm-lifetime-"));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Two stacks over a memory link, as the README sets them up. */
const SETUP = `
import http from "node:http";
import { createStack, createMemoryLinkPair, bindNet } from ${JSON.stringify(NODE_ENTRY)};
const [linkA, linkB] = createMemoryLinkPair();
const a = await createStack({ addresses: ["10.0.0.1/24"] });
const b = await createStack({ addresses: ["10.0.0.2/24"] });
a.attach(linkA);
b.attach(linkB);
const clientNet = bindNet(a);
const serverNet = bindNet(b);
`;

interface Outcome {
  /** The exit code, or "running" when the child was still alive `aliveMs` after printing `marker`. */
  exit: number | "running";
  stdout: string;
}

/**
 * Runs `body` after SETUP in a child. Once its stdout holds `marker`, the child has `aliveMs` to exit
 * by itself; a child still running then is killed and reported as "running". A child that never
 * prints the marker fails the test after 20 s.
 */
function runChild(name: string, body: string, marker: string, aliveMs: number): Promise<Outcome> {
  const file = join(dir, `${name}.mjs`);
  writeFileSync(file, SETUP + body);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let grace: NodeJS.Timeout | undefined;
    const never = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${name}: no "${marker}" within 20 s; stdout ${JSON.stringify(stdout)} stderr ${stderr}`));
    }, 20_000);
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      if (grace === undefined && stdout.includes(marker)) {
        grace = setTimeout(() => {
          clearTimeout(never);
          child.kill("SIGKILL");
          resolve({ exit: "running", stdout });
        }, aliveMs);
      }
    });
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("exit", (code) => {
      clearTimeout(never);
      if (grace) clearTimeout(grace);
      if (!stdout.includes(marker)) reject(new Error(`${name}: exited ${code} before "${marker}"; stdout ${JSON.stringify(stdout)} stderr ${stderr}`));
      else resolve({ exit: code ?? -1, stdout });
    });
  });
}

// Well under TIME-WAIT's 60 s, well over anything a finished run still has to do.
const GRACE_MS = 5000;

describe("process lifetime in Node, as node:net decides it", () => {
  it("the README's node:http example prints its answer and exits: TIME-WAIT keeps nothing alive", async () => {
    const r = await runChild("http", `
const site = http.createServer((req, res) => res.end("hello " + req.url + "\\n"));
const server = serverNet.createServer((socket) => site.emit("connection", socket)).listen(80);
http.get({ path: "/x", createConnection: () => clientNet.connect({ host: "10.0.0.2", port: 80 }) }, (res) => {
  res.pipe(process.stdout);
  res.on("end", () => server.close());
});
`, "hello /x", GRACE_MS);
    expect(r).toEqual({ exit: 0, stdout: "hello /x\n" });
  });

  it("an open idle connection keeps the process alive; unref() on both its sockets lets it go", async () => {
    const body = (unref: boolean) => `
serverNet.createServer((s) => { ${unref ? "s.unref();" : ""} }).listen(80).unref();
const c = clientNet.connect({ host: "10.0.0.2", port: 80 }, () => {
  ${unref ? "c.unref();" : ""}
  console.log("connected");
});
`;
    const held = await runChild("idle", body(false), "connected", 1500);
    expect(held.exit).toBe("running");
    const let_go = await runChild("idle-unref", body(true), "connected", GRACE_MS);
    expect(let_go.exit).toBe(0);
  });

  it("await socket.closed on a peer that never closes waits (Web face), and stack.unref() lets the process go", async () => {
    const body = (unref: boolean) => `
const listener = b.listen({ port: 7 });
const socket = a.connect({ hostname: "10.0.0.2", port: 7 });
await socket.opened;
console.log("opened");
${unref ? "a.unref(); b.unref();" : ""}
await socket.closed;
console.log("never");
`;
    const held = await runChild("closed", body(false), "opened", 1500);
    expect(held).toEqual({ exit: "running", stdout: "opened\n" });
    // Node's status for a top-level await that can never settle.
    const let_go = await runChild("closed-unref", body(true), "opened", GRACE_MS);
    expect(let_go).toEqual({ exit: 13, stdout: "opened\n" });
  });

  it("a listening server keeps the process alive until server.unref(), and ref() takes it back", async () => {
    const body = (calls: string) => `
const server = serverNet.createServer(() => undefined).listen(80, () => console.log("listening"));
${calls}
`;
    expect((await runChild("listen", body(""), "listening", 1500)).exit).toBe("running");
    expect((await runChild("listen-unref", body("server.unref();"), "listening", GRACE_MS)).exit).toBe(0);
    expect((await runChild("listen-reref", body("server.unref(); server.ref();"), "listening", 1500)).exit).toBe("running");
  });

  it("a bound dgram socket keeps the process alive until unref() or close(), as node:dgram's", async () => {
    const body = (calls: string) => `
const { bindDgram } = await import(${JSON.stringify(NODE_ENTRY)});
const s = bindDgram(b).createSocket("udp4");
s.bind(53, "10.0.0.2", () => console.log("bound"));
${calls}
`;
    expect((await runChild("dgram", body(""), "bound", 1500)).exit).toBe("running");
    expect((await runChild("dgram-unref", body("s.unref();"), "bound", GRACE_MS)).exit).toBe(0);
    expect((await runChild("dgram-close", body("s.on('listening', () => s.close());"), "bound", GRACE_MS)).exit).toBe(0);
  });
});
