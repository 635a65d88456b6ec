// Kernel clients, tcpwasm servers (issue 5): node:net inside the namespace sends 64 MiB to an echo
// server on the stack and checks the SHA-256 of what comes back; curl fetches a page and 64 MiB from
// `tcpwasm serve --mode http`. Over IPv4 and IPv6, each with its own capture checked by tshark.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canRunNetns } from "./netns.js";
import { captureHealth, KernelAgent } from "./peers.js";
import { createScene, FAMILIES, Observed, type Scene } from "./scene.js";

const probe = canRunNetns(["tshark"]);
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
