// A lossy path to the kernel's TCP: nftables drops 5% of the packets at random in each direction
// inside the namespace (netem is absent here), and 64 MiB each way still arrive intact (SHA-256), one
// direction after the other so a failure says which end's recovery is at fault. The same capture shows the kernel's window scaling, SACK
// and timestamps negotiated and used. Over IPv4 and IPv6.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canRunNetns } from "../fixtures/interop/netns.js";
import { CAPTURE_READ_MS, captureFields, captureHealth, KernelAgent } from "../fixtures/interop/peers.js";
import { acceptOne, connected, createScene, FAMILIES, Observed, writeRandom, type Scene } from "../fixtures/interop/scene.js";

const probe = canRunNetns(["tshark", "nft"]);
if (!probe.ok) console.warn(`interop lossy-path tests SKIPPED: ${probe.reason}`);

const MIB = 2 ** 20;
const LOSS_PERCENT = 5;
/**
 * Bound on each 64 MiB transfer, not a speed target: with no loss one takes about 1 s here; at 5% loss
 * each way tcpwasm -> kernel takes about 45 s on a quiet machine.
 */
const TRANSFER_MS = 150_000;
const TEST_MS = TRANSFER_MS + 30_000;

for (const f of FAMILIES) {
  describe.skipIf(!probe.ok)(`a path losing ${LOSS_PERCENT}% each way over ${f.name}`, () => {
    let s: Scene;
    const agents: KernelAgent[] = [];
    const kernelAgent = async () => {
      const a = await KernelAgent.start(s.t.ns);
      agents.push(a);
      return a;
    };
    const ip = f.family === 4 ? "ip" : "ipv6";
    beforeAll(async () => {
      s = await createScene({ pcapName: `lossy-v${f.family}.pcap` });
    });
    afterAll(async () => {
      for (const a of agents) a.stop();
      await s?.destroy();
    });

    it("64 MiB from the kernel arrive intact (SHA-256) while 5% of the packets each way are dropped", async () => {
      await s.t.ns.setLoss(s.t.relay.tun, LOSS_PERCENT, LOSS_PERCENT);
      const server = acceptOne(s.stack, 5001);
      const agent = await kernelAgent();
      // The SYN or SYN,ACK may be dropped too: the kernel retries (1 s, 2 s, ...) within this bound.
      agent.send("connect", { host: f.stack, port: 5001 });
      await agent.next("connected", 30_000);
      const ours = await server.accepted;
      agent.send("write", { bytes: 64 * MIB, chunk: MIB });
      const kernelWrote = await agent.next("written", TRANSFER_MS);
      agent.send("end");
      expect(await ours.untilEnd(TRANSFER_MS)).toEqual({ bytes: 64 * MIB, sha: kernelWrote.sha, ended: true });
      ours.conn.end();
      expect(await ours.untilClose()).toBeUndefined();
      expect(await agent.next("close")).toMatchObject({ hadError: false });
      const dropped = await s.t.ns.lossCounters();
      // The kernel's data segments alone are about 46 000: 5% of them is about 2 300.
      expect(dropped.outbound).toBeGreaterThan(1000);
      expect(dropped.inbound).toBeGreaterThan(10); // our ACKs: far fewer packets
    }, TEST_MS);

    it("64 MiB to the kernel arrive intact (SHA-256) while 5% of the packets each way are dropped", async () => {
      await s.t.ns.setLoss(s.t.relay.tun, LOSS_PERCENT, LOSS_PERCENT);
      const agent = await kernelAgent();
      agent.send("listen", { host: f.kernel, port: 5002 });
      await agent.next("listening");
      const conn = s.stack.openConnection({ remote: f.kernel, remotePort: 5002 });
      const ours = new Observed(conn);
      await connected(conn, 30_000);
      const retransmitsBefore = s.stack.counters().retransmits;
      let weWrote: string;
      try {
        weWrote = await writeRandom(conn, 64 * MIB, { ms: TRANSFER_MS });
      } catch (err) {
        agent.send("stats");
        const got = await agent.next("stats");
        throw new Error(
          `${String(err)}; the kernel had received ${Number(got.received)} bytes; engine: ` +
            JSON.stringify({ ...conn.status(), counters: s.stack.counters(), dropsByReason: undefined }),
        );
      }
      expect(await agent.next("end", TRANSFER_MS)).toMatchObject({ received: 64 * MIB, sha: weWrote });
      agent.send("end");
      expect(await ours.untilClose()).toBeUndefined();
      expect(await agent.next("close")).toMatchObject({ hadError: false });
      expect(s.stack.counters().retransmits - retransmitsBefore).toBeGreaterThan(1000);
      await s.t.ns.setLoss(s.t.relay.tun, 0, 0);
    }, TEST_MS);

    it("the capture has no checksum errors and no malformed packets", async () => {
      s.stop();
      const health = await captureHealth(s.pcapPath);
      expect(health.tcp).toBeGreaterThan((64 * MIB) / 1500);
      expect(health.badChecksums).toEqual([]);
      expect(health.malformed).toEqual([]);
    }, CAPTURE_READ_MS);

    /** One tshark pass over the capture for the option checks below. */
    interface Row {
      src: string;
      syn: boolean;
      ack: boolean;
      rst: boolean;
      wscale: string;
      sackPermitted: boolean;
      tsval: string;
      tsecr: string;
      window: number;
      sackBlocks: boolean;
    }
    let rows: Promise<Row[]> | undefined;
    const tcpRows = () =>
      (rows ??= captureFields(s.pcapPath, "tcp", [
        `${ip}.src`, "tcp.flags.syn", "tcp.flags.ack", "tcp.flags.reset", "tcp.options.wscale.shift", "tcp.options.sack_perm",
        "tcp.options.timestamp.tsval", "tcp.options.timestamp.tsecr", "tcp.window_size", "tcp.options.sack_le",
      ]).then((fields) =>
        fields.map(([src, syn, ack, rst, wscale, sackPermitted, tsval, tsecr, window, sackLe]) => ({
          src, syn: syn === "1", ack: ack === "1", rst: rst === "1", wscale, sackPermitted: sackPermitted !== "",
          tsval, tsecr, window: Number(window), sackBlocks: sackLe !== "",
        })),
      ));

    it("window scaling, SACK-permitted and timestamps were offered and accepted in both handshakes", async () => {
      const all = await tcpRows();
      const first = (src: string, ack: boolean) => all.find((r) => r.syn && r.src === src && r.ack === ack);
      // The kernel connecting to us (port 5001), and us connecting to the kernel (port 5002).
      const handshakes = { kernelSyn: first(f.kernel, false), ourSynAck: first(f.stack, true), ourSyn: first(f.stack, false), kernelSynAck: first(f.kernel, true) };
      for (const [name, syn] of Object.entries(handshakes)) {
        expect(syn, name).toBeDefined();
        expect(syn!.wscale, `${name}: window scale`).toMatch(/^\d+$/);
        expect(syn!.sackPermitted, `${name}: SACK permitted`).toBe(true);
        expect(syn!.tsval, `${name}: TSval`).toMatch(/^\d+$/);
      }
      expect(Number(handshakes.kernelSyn!.wscale)).toBeGreaterThan(0);
      expect(Number(handshakes.kernelSynAck!.wscale)).toBeGreaterThan(0);
    }, CAPTURE_READ_MS);

    it("both ends advertised scaled windows above 64 KiB", async () => {
      const scaled = (await tcpRows()).filter((r) => !r.syn && r.window > 65535);
      expect(scaled.filter((r) => r.src === f.kernel).length).toBeGreaterThan(100);
      expect(scaled.filter((r) => r.src === f.stack).length).toBeGreaterThan(100);
    }, CAPTURE_READ_MS);

    it("both ends sent SACK blocks for the holes the loss made", async () => {
      const sacks = (await tcpRows()).filter((r) => r.sackBlocks);
      expect(sacks.filter((r) => r.src === f.kernel).length).toBeGreaterThan(10);
      expect(sacks.filter((r) => r.src === f.stack).length).toBeGreaterThan(10);
    }, CAPTURE_READ_MS);

    it("every segment carries timestamps, and each end echoes TSvals the other one sent", async () => {
      const all = await tcpRows();
      const sent = { [f.kernel]: new Set<string>(), [f.stack]: new Set<string>() };
      for (const r of all) if (!r.rst) sent[r.src].add(r.tsval);
      expect(sent[f.kernel].has("")).toBe(false);
      expect(sent[f.stack].has("")).toBe(false);
      const echoed = { [f.kernel]: 0, [f.stack]: 0 };
      for (const r of all) {
        if (r.rst || (r.syn && !r.ack)) continue; // a SYN has nothing to echo yet
        const other = r.src === f.kernel ? f.stack : f.kernel;
        expect(sent[other].has(r.tsecr), `${r.src} echoed TSecr ${r.tsecr}, which ${other} never sent`).toBe(true);
        echoed[r.src]++;
      }
      expect(echoed[f.kernel]).toBeGreaterThan(1000);
      expect(echoed[f.stack]).toBeGreaterThan(1000);
    }, CAPTURE_READ_MS);
  });
}
