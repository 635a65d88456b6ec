// Node's own http, unmodified, over tcpwasm's node:net face (tcpwasm/node bindNet) against the kernel:
// curl inside the namespace fetches from an http.Server fed by the stack, and http.get dials python3's
// http.server through the stack. Over IPv4 and IPv6, each with its own capture.

import { execFileSync, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import http from "node:http";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bindNet } from "../../src/node.js";
import { canRunNetns } from "../fixtures/interop/netns.js";
import { captureHealth } from "../fixtures/interop/peers.js";
import { createScene, FAMILIES, within, type Scene } from "../fixtures/interop/scene.js";

const probe = canRunNetns(["tshark", "curl", "sha256sum", "python3"]);
if (!probe.ok) console.warn(`interop Node-face tests SKIPPED: ${probe.reason}`);

const MIB = 2 ** 20;
/** The interpreter itself: a pyenv shim forks python, so killing the spawned pid would not stop it. */
const PYTHON = probe.ok ? execFileSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" }).trim() : "python3";
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

for (const f of FAMILIES) {
  describe.skipIf(!probe.ok)(`node:http over the stack's node:net face, kernel peers, ${f.name}`, () => {
    let s: Scene;
    let dir: string;
    const body = randomBytes(16 * MIB);
    beforeAll(async () => {
      s = await createScene({ pcapName: `node-face-v${f.family}.pcap` });
      dir = mkdtempSync(join(tmpdir(), "tcpwi-nodeface-"));
    });
    afterAll(async () => {
      await s?.destroy();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it("curl fetches twice on one kept-alive connection from an http.Server fed by the stack", async () => {
      const net = bindNet(s.stack);
      const remotes: string[] = [];
      const site = http.createServer((req, res) => {
        if (req.url === "/blob") {
          res.setHeader("content-length", body.length);
          res.end(body);
        } else res.end(`hello ${req.socket.remoteAddress}\n`);
      });
      const server = net.createServer((socket) => {
        remotes.push(String(socket.remoteAddress));
        site.emit("connection", socket);
      });
      await new Promise<void>((resolve) => server.listen(80, resolve));
      try {
        const base = f.family === 4 ? `http://${f.stack}` : `http://[${f.stack}]`;
        const r = await s.t.ns.exec("sh", ["-c", `curl -gsS --max-time 60 "$1" -o /dev/stdout "$2" | sha256sum`, "sh", `${base}/`, `${base}/blob`], {
          timeoutMs: 70_000,
        });
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        expect(r.stdout.split(" ")[0]).toBe(sha256(Buffer.concat([Buffer.from(`hello ${f.kernel}\n`), body])));
        expect(remotes).toEqual([f.kernel]); // both requests on one connection
      } finally {
        await within(10_000, "server close", new Promise<void>((resolve) => {
          server.close(() => resolve());
          site.closeAllConnections();
        }));
      }
    });

    it("http.get through the stack fetches 16 MiB from python3's http.server", async () => {
      writeFileSync(join(dir, "blob.bin"), body);
      const python: ChildProcess = s.t.ns.spawn(PYTHON, ["-u", "-m", "http.server", "8080", "--bind", f.kernel, "--directory", dir], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      try {
        let out = "";
        await within(15_000, "python3 http.server start", new Promise<void>((resolve, reject) => {
          const onData = (chunk: Buffer) => (out += chunk) && /Serving HTTP/.test(out) && resolve();
          python.stdout!.on("data", onData);
          python.stderr!.on("data", onData);
          python.on("exit", (code) => reject(new Error(`python3 exited with ${code}: ${out}`)));
        }));
        const net = bindNet(s.stack);
        const got = await within(60_000, "http.get", new Promise<{ status: number; body: Buffer; local: string }>((resolve, reject) => {
          const req = http.get(
            { path: "/blob.bin", host: f.kernel, port: 8080, createConnection: () => net.connect({ host: f.kernel, port: 8080 }) },
            (res) => {
              const chunks: Buffer[] = [];
              res.on("data", (c: Buffer) => chunks.push(c));
              res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), local: String(res.socket.localAddress) }));
              res.on("error", reject);
            },
          );
          req.on("error", reject);
        }));
        expect(got.status).toBe(200);
        expect(got.local).toBe(f.stack);
        expect(got.body.length).toBe(body.length);
        expect(sha256(got.body)).toBe(sha256(body));
      } finally {
        python.kill("SIGKILL");
      }
    });

    it("the capture has no checksum errors and no malformed packets", async () => {
      s.stop();
      const health = await captureHealth(s.pcapPath);
      expect(health.tcp).toBeGreaterThan((2 * 16 * MIB) / 1500);
      expect(health.badChecksums).toEqual([]);
      expect(health.malformed).toEqual([]);
    });
  });
}
