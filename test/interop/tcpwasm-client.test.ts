// tcpwasm clients, kernel servers over a TUN device: the stack connects to a node:net echo server and to
// python3's http.server inside the namespace. Over IPv4 and IPv6, each with its own capture.

import { execFileSync, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canRunNetns } from "../fixtures/interop/netns.js";
import { captureHealth, KernelAgent } from "../fixtures/interop/peers.js";
import { connected, createScene, FAMILIES, Observed, within, writeRandom, type Scene } from "../fixtures/interop/scene.js";

const probe = canRunNetns(["tshark", "python3"]);
if (!probe.ok) console.warn(`interop tcpwasm-client tests SKIPPED: ${probe.reason}`);

const MIB = 2 ** 20;
/**
 * The interpreter itself, not a wrapper: a pyenv shim forks python instead of exec'ing it, so killing
 * the spawned pid would leave the server running (until the namespace is destroyed).
 */
const PYTHON = probe.ok ? execFileSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" }).trim() : "python3";

/** Waits until `child` prints a line matching `pattern` on stdout or stderr. */
function waitOutput(child: ChildProcess, pattern: RegExp, what: string, ms = 15_000): Promise<void> {
  let seen = "";
  return within(
    ms,
    what,
    new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        seen += chunk;
        if (pattern.test(seen)) resolve();
      };
      child.stdout?.on("data", onData);
      child.stderr?.on("data", onData);
      child.on("exit", (code) => reject(new Error(`${what}: exited with ${code}: ${seen}`)));
    }),
  );
}

/** Splits an HTTP/1.x response into status line, lower-cased headers and body. */
function parseResponse(raw: Buffer): { status: string; headers: Map<string, string>; body: Buffer } {
  const end = raw.indexOf("\r\n\r\n");
  if (end < 0) throw new Error(`no end of headers in ${raw.length} bytes: ${raw.subarray(0, 200).toString()}`);
  const [status, ...lines] = raw.subarray(0, end).toString("latin1").split("\r\n");
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(":");
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { status, headers, body: raw.subarray(end + 4) };
}

for (const f of FAMILIES) {
  describe.skipIf(!probe.ok)(`tcpwasm client -> kernel server over ${f.name}`, () => {
    let s: Scene;
    let dir: string;
    const agents: KernelAgent[] = [];
    beforeAll(async () => {
      s = await createScene({ pcapName: `tcpwasm-client-v${f.family}.pcap` });
      dir = mkdtempSync(join(tmpdir(), "tcpwi-www-"));
    });
    afterAll(async () => {
      for (const a of agents) a.stop();
      await s?.destroy();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it("sends 64 MiB to a node:net echo server and reads the same bytes back (SHA-256)", async () => {
      const agent = await KernelAgent.start(s.t.ns);
      agents.push(agent);
      agent.send("listen", { host: f.kernel, port: 7007, echo: true });
      await agent.next("listening");
      const conn = s.stack.openConnection({ remote: f.kernel, remotePort: 7007 });
      const seen = new Observed(conn);
      await connected(conn);
      expect(conn.localAddress).toBe(f.stack);
      const accepted = await agent.next("accepted");
      expect(accepted).toMatchObject({ remote: f.stack, port: conn.localPort });
      const sent = await writeRandom(conn, 64 * MIB, { ms: 120_000 });
      const back = await seen.untilEnd(120_000);
      expect(back).toEqual({ bytes: 64 * MIB, sha: sent, ended: true });
      expect(await seen.untilClose()).toBeUndefined();
      const kernelEnd = await agent.next("end");
      expect(kernelEnd).toMatchObject({ received: 64 * MIB, sha: sent });
      expect(await agent.next("close")).toMatchObject({ hadError: false, sent: 64 * MIB });
    });

    it("fetches a page and a 16 MiB file from python3's http.server", async () => {
      const page = "<!doctype html><title>tcpwasm</title><p>served by the kernel's TCP</p>\n";
      const file = randomBytes(16 * MIB);
      writeFileSync(join(dir, "index.html"), page);
      writeFileSync(join(dir, "blob.bin"), file);
      const server = s.t.ns.spawn(PYTHON, ["-u", "-m", "http.server", "8080", "--bind", f.kernel, "--directory", dir], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      try {
        await waitOutput(server, /Serving HTTP/, "python3 http.server start");
        const get = async (path: string) => {
          const conn = s.stack.openConnection({ remote: f.kernel, remotePort: 8080 });
          const chunks: Buffer[] = [];
          const seen = new Observed(conn);
          const onData = conn.onData!;
          conn.onData = (chunk) => {
            chunks.push(Buffer.from(chunk));
            onData(chunk);
          };
          await connected(conn);
          const host = f.family === 6 ? `[${f.kernel}]` : f.kernel;
          conn.write(new TextEncoder().encode(`GET ${path} HTTP/1.0\r\nHost: ${host}:8080\r\n\r\n`));
          // HTTP/1.0: the server closes after the body; our FIN answers its FIN.
          await seen.untilEnd(60_000);
          conn.end();
          expect(await seen.untilClose()).toBeUndefined();
          return parseResponse(Buffer.concat(chunks));
        };
        const index = await get("/");
        expect(index.status).toMatch(/^HTTP\/1\.[01] 200/);
        expect(index.body.toString()).toBe(page);
        const blob = await get("/blob.bin");
        expect(blob.status).toMatch(/^HTTP\/1\.[01] 200/);
        expect(blob.headers.get("content-length")).toBe(String(file.length));
        expect(createHash("sha256").update(blob.body).digest("hex")).toBe(createHash("sha256").update(file).digest("hex"));
        const missing = await get("/no-such-file");
        expect(missing.status).toMatch(/^HTTP\/1\.[01] 404/);
      } finally {
        server.kill("SIGKILL");
      }
    });

    it("the capture has no checksum errors and no malformed packets", async () => {
      s.stop();
      const health = await captureHealth(s.pcapPath);
      expect(health.tcp).toBeGreaterThan((2 * 64 * MIB + 16 * MIB) / 1500);
      expect(health.badChecksums).toEqual([]);
      expect(health.malformed).toEqual([]);
    });
  });
}
