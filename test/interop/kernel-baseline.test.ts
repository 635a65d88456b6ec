// The kernel-to-kernel baseline over TUN + socat relays works and reports a throughput: what a tcpwasm
// benchmark over the same kind of path is compared with.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canRunNetns } from "../fixtures/interop/netns.js";
import { createKernelPair, KernelPair, kernelToKernelThroughput, measureBulk } from "../fixtures/interop/kernel-baseline.js";

const probe = canRunNetns();
if (!probe.ok) console.warn(`kernel-to-kernel baseline tests SKIPPED: ${probe.reason}`);
const iperf = canRunNetns(["iperf3"]);
if (probe.ok && !iperf.ok) console.warn(`kernel-to-kernel iperf3 test SKIPPED: ${iperf.reason}`);

function report(label: string, r: { bytes: number; seconds: number; bitsPerSecond: number }): void {
  console.log(`kernel->kernel ${label}: ${(r.bytes / 2 ** 20).toFixed(0)} MiB in ${r.seconds.toFixed(3)} s = ${(r.bitsPerSecond / 1e6).toFixed(0)} Mbit/s`);
}

describe.skipIf(!probe.ok)("kernel-to-kernel baseline over TUN -> socat -> UDP -> socat -> TUN", () => {
  for (const relay of ["socat", "node"] as const) {
    describe(`${relay} relay`, () => {
      let pair: KernelPair;
      beforeAll(async () => {
        pair = await createKernelPair(relay);
      });
      afterAll(async () => {
        await pair?.destroy();
      });

      for (const family of [4, 6] as const) {
        it(`moves 32 MiB from A to B over IPv${family} with node:net and measures it`, async () => {
          const before = pair.forwarded();
          const r = await measureBulk(pair, { family, mebibytes: 32, timeoutMs: 60_000 });
          report(`${relay} relay, IPv${family}, node:net`, r);
          expect(r.bytes).toBe(32 * 2 ** 20);
          expect(r.bitsPerSecond).toBeGreaterThan(1e6);
          // Every full-sized packet went through a relay: 32 MiB cannot travel in fewer 1500-byte packets.
          if (relay === "node") expect(pair.forwarded() - before).toBeGreaterThan((32 * 2 ** 20) / 1500);
        });
      }

      it.skipIf(!iperf.ok)("measures with iperf3 too (2 s)", async () => {
        const r = await measureBulk(pair, { tool: "iperf3", seconds: 2, timeoutMs: 30_000 });
        report(`${relay} relay, IPv4, iperf3`, r);
        expect(r.seconds).toBeGreaterThan(1.5);
        expect(r.bitsPerSecond).toBeGreaterThan(1e6);
      });
    });
  }

  it.skipIf(!canRunNetns(["ping"]).ok)("in node mode the kernels' packets go through this process and nowhere else", async () => {
    const pair = await createKernelPair("node");
    try {
      expect(await pair.a.run("ip", ["route", "get", pair.addrB.v4])).toContain("dev tw0");
      expect(await pair.a.run("ip", ["-o", "link", "show"])).not.toContain("veth");
      const before = pair.forwarded();
      const ping = await pair.a.exec("ping", ["-c1", "-W3", pair.addrB.v4]);
      expect(ping.code).toBe(0);
      expect(pair.forwarded() - before).toBeGreaterThanOrEqual(2); // request and reply
    } finally {
      await pair.destroy();
    }
  });

  it("kernelToKernelThroughput() sets up, measures and tears down in one call", async () => {
    const r = await kernelToKernelThroughput({ mebibytes: 16 });
    report("socat relay, IPv4, node:net, one-shot", r);
    expect(r.bytes).toBe(16 * 2 ** 20);
  });
});
