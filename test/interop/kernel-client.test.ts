// Kernel clients, tcpwasm servers over a TUN device: node:net inside the namespace sends 64 MiB to an echo
// server on the stack and checks the SHA-256 of what comes back; curl fetches a page and 64 MiB from
// the real `tcpwasm serve --mode http` command, run inside the namespace on the relay's UDP port. Over
// IPv4 and IPv6, each with its own capture checked by tshark.

import type { ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleCli, type CliBundle } from "../fixtures/interop/cli.js";
import { canRunNetns, Netns } from "../fixtures/interop/netns.js";
import { captureHealth, KernelAgent } from "../fixtures/interop/peers.js";
import { createScene, FAMILIES, Observed, within, type Scene } from "../fixtures/interop/scene.js";

const probe = canRunNetns(["tshark", "curl", "sha256sum"]);
if (!probe.ok) console.warn(`interop kernel-client tests SKIPPED: ${probe.reason}`);

const MIB = 2 ** 20;

for (const f of FAMILIES) {
  describe.skipIf(!probe.ok)(`kernel client -> tcpwasm server over ${f.name}`, () => {
    let s: Scene;
    const agents: KernelAgent[] = [];
    beforeAll(async () => {
      s = await createScene({ pcapName: `kernel-client-v${f.family}.pcap` });
    });
    afterAll(async () => {
      for (const a of agents) a.stop();
      await s?.destroy();
    });

    it("node:net sends 64 MiB to the stack's echo server and gets the same bytes back (SHA-256)", async () => {
      const served: Observed[] = [];
      const listener = s.stack.openListener({ port: 7 }, (conn) => served.push(new Observed(conn, undefined, true)));
      const agent = await KernelAgent.start(s.t.ns);
      agents.push(agent);
      agent.send("connect", { host: f.stack, port: 7 });
      const hello = await agent.next("connected");
      expect(hello.local).toBe(f.kernel);
      agent.send("write", { bytes: 64 * MIB, chunk: MIB });
      const written = await agent.next("written", 120_000);
      agent.send("end");
      const echoed = await agent.next("end", 120_000);
      expect(echoed.received).toBe(64 * MIB);
      expect(echoed.sha).toBe(written.sha);
      expect(await agent.next("close")).toMatchObject({ hadError: false });
      expect(served).toHaveLength(1);
      expect(served[0].received).toBe(64 * MIB);
      expect(served[0].sha).toBe(written.sha);
      expect(await served[0].untilClose()).toBeUndefined();
      expect(served[0].conn.remoteAddress).toBe(f.kernel);
      listener.close();
    });

    it("the capture has no checksum errors and no malformed packets", async () => {
      s.stop();
      const health = await captureHealth(s.pcapPath);
      expect(health.tcp).toBeGreaterThan((2 * 64 * MIB) / 1500);
      expect(health.badChecksums).toEqual([]);
      expect(health.malformed).toEqual([]);
    });
  });
}

/** SHA-256 of /bytes/N as the http mode serves it: byte i is i mod 256. */
function bytesSha(n: number): string {
  const block = Buffer.from(Uint8Array.from({ length: 65536 }, (_, i) => i & 0xff));
  const hash = createHash("sha256");
  for (let left = n; left > 0; left -= block.length) hash.update(left >= block.length ? block : block.subarray(0, left));
  return hash.digest("hex");
}

describe.skipIf(!probe.ok)("curl -> `tcpwasm serve --mode http` inside the namespace", () => {
  let cli: CliBundle;
  let ns: Netns;
  let server: ChildProcess;
  let dir: string;
  let serverOut = "";
  let pcapPath: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "tcpwi-serve-"));
    pcapPath = join(dir, "serve.pcap");
    cli = await bundleCli();
    ns = await Netns.create();
    await ns.startTunRelay();
    server = ns.spawn(process.execPath, [
      cli.path, "serve", "--ip", "10.77.0.2/24", "--ip6", "fd77::2/64", "--udp-bind", "127.0.0.1:7000",
      "--udp-peer", "127.0.0.1:7001", "--port", "80", "--mode", "http", "--pcap", pcapPath,
    ], { stdio: ["ignore", "pipe", "pipe"] });
    server.stdout!.on("data", (chunk: Buffer) => (serverOut += chunk));
    server.stderr!.on("data", (chunk: Buffer) => (serverOut += chunk));
    await within(15_000, "tcpwasm serve: listening", new Promise<void>((resolve, reject) => {
      server.stdout!.on("data", () => serverOut.includes("listening") && resolve());
      server.on("exit", (code) => reject(new Error(`tcpwasm serve exited with ${code}: ${serverOut}`)));
    }));
  });
  afterAll(async () => {
    await ns?.destroy();
    cli?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const f of FAMILIES) {
    const base = f.family === 4 ? `http://${f.stack}` : `http://[${f.stack}]`;

    it(`curl fetches the page over ${f.name}`, async () => {
      const r = await ns.exec("curl", ["-gsS", "--max-time", "20", "-w", "\\n%{http_code} %{remote_ip}", `${base}/`]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const lines = r.stdout.trimEnd().split("\n");
      expect(lines.pop()).toBe(`200 ${f.stack}`);
      expect(lines.join("\n")).toContain("Hello from tcpwasm");
    });

    it(`curl fetches /bytes/67108864 over ${f.name}: 64 MiB, SHA-256 as served`, async () => {
      const n = 64 * MIB;
      const r = await ns.exec("sh", ["-c", `curl -gsS --max-time 120 "$1" | sha256sum`, "sh", `${base}/bytes/${n}`], {
        timeoutMs: 130_000,
      });
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout.split(" ")[0]).toBe(bytesSha(n));
    }, 150_000);
  }

  it("the server's capture has no checksum errors and no malformed packets", async () => {
    // SIGTERM: the command closes its listener and its pcap, and exits 0.
    const exited = new Promise<number | null>((resolve) => server.once("exit", (code) => resolve(code)));
    server.kill("SIGTERM");
    expect(await within(10_000, "tcpwasm serve exit", exited)).toBe(0);
    const health = await captureHealth(pcapPath);
    expect(health.tcp).toBeGreaterThan((2 * 64 * MIB) / 1500);
    expect(health.badChecksums).toEqual([]);
    expect(health.malformed).toEqual([]);
  });
});
