// Closing with the kernel's TCP over a TUN device (RFC 9293 3.6): close started by either side, simultaneous close, half-close both
// ways, refused connections both ways, resets both ways, and ping answered by the stack. Over IPv4 and
// IPv6, each with its own capture. The stack's states come from its trace; the kernel's from `ss`.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StackConnection } from "../../src/index.js";
import { canRunNetns } from "../fixtures/interop/netns.js";
import { captureCount, captureFields, captureHealth, KernelAgent } from "../fixtures/interop/peers.js";
import { connected, createScene, FAMILIES, Observed, within, writeRandom, type Scene } from "../fixtures/interop/scene.js";

const probe = canRunNetns(["tshark", "ping", "ss"]);
if (!probe.ok) console.warn(`interop close tests SKIPPED: ${probe.reason}`);

const MIB = 2 ** 20;

/** TCP flags of a raw IPv4/IPv6 packet, or -1 if it is not TCP (no IPv6 extension headers here). */
function tcpFlags(packet: Uint8Array): number {
  if (packet[0] >> 4 === 4) return packet[9] === 6 ? packet[(packet[0] & 0x0f) * 4 + 13] : -1;
  return packet[6] === 6 ? packet[40 + 13] : -1;
}
const FIN = 0x01;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

for (const f of FAMILIES) {
  describe.skipIf(!probe.ok)(`closing with the kernel over ${f.name}`, () => {
    let s: Scene;
    const agents: KernelAgent[] = [];
    let nextPort = 7100;
    let simultaneousPort = 0;
    beforeAll(async () => {
      s = await createScene({ pcapName: `close-v${f.family}.pcap`, trace: true });
    });
    afterAll(async () => {
      for (const a of agents) a.stop();
      await s?.destroy();
    });

    const agent = async () => {
      const a = await KernelAgent.start(s.t.ns);
      agents.push(a);
      return a;
    };

    /** The kernel's TCP states (ss) of sockets with `port` at either end. */
    const kernelStates = async (port: number): Promise<string[]> => {
      const out = await s.t.ns.run("ss", ["-Htan"]);
      return out
        .split("\n")
        .filter((line) => line.split(/\s+/).slice(3, 5).some((end) => end.endsWith(`:${port}`)))
        .map((line) => line.split(/\s+/)[0]);
    };

    /**
     * The kernel's states once they equal `want`, or whatever they are after 5 s: the segment that
     * moves the kernel on (our ACK, our FIN) left this process before the stack reported its own
     * step, but the kernel takes it a moment later.
     */
    const kernelSettles = async (port: number, want: string[]): Promise<string[]> => {
      const deadline = Date.now() + 5_000;
      for (;;) {
        const states = await kernelStates(port);
        if (JSON.stringify(states) === JSON.stringify(want) || Date.now() > deadline) return states;
        await sleep(20);
      }
    };

    /** A stack listener on a fresh port, and the kernel agent connected to it. */
    const kernelConnects = async () => {
      const port = nextPort++;
      const accepted: Observed[] = [];
      const waiters: (() => void)[] = [];
      const listener = s.stack.openListener({ port }, (conn) => {
        accepted.push(new Observed(conn));
        for (const w of waiters.splice(0)) w();
      });
      const a = await agent();
      a.send("connect", { host: f.stack, port });
      await a.next("connected");
      if (!accepted.length) await within(10_000, "accept", new Promise<void>((r) => waiters.push(r)));
      listener.close();
      return { port, a, ours: accepted[0] };
    };

    /** A kernel agent listening on a fresh port, and the stack connected to it. */
    const stackConnects = async () => {
      const port = nextPort++;
      const a = await agent();
      a.send("listen", { host: f.kernel, port });
      await a.next("listening");
      const conn = s.stack.openConnection({ remote: f.kernel, remotePort: port });
      const ours = new Observed(conn);
      await connected(conn);
      await a.next("accepted");
      return { port, a, ours };
    };

    const statesOf = (conn: StackConnection) => s.states.get(conn) ?? [];

    it("close started by the kernel: CLOSE-WAIT, LAST-ACK here, TIME-WAIT in the kernel", async () => {
      const { port, a, ours } = await kernelConnects();
      a.send("write", { bytes: 100_000 });
      const written = await a.next("written");
      a.send("end");
      expect(await ours.untilEnd()).toEqual({ bytes: 100_000, sha: written.sha, ended: true });
      expect(ours.conn.state).toBe("CLOSE-WAIT");
      expect(await kernelSettles(port, ["FIN-WAIT-2"])).toEqual(["FIN-WAIT-2"]);
      ours.conn.end();
      expect(await ours.untilClose()).toBeUndefined();
      expect(await a.next("end")).toMatchObject({ received: 0 });
      expect(await a.next("close")).toMatchObject({ hadError: false });
      expect(statesOf(ours.conn)).toEqual(["ESTABLISHED", "CLOSE-WAIT", "LAST-ACK", "CLOSED"]);
      expect(await kernelSettles(port, ["TIME-WAIT"])).toEqual(["TIME-WAIT"]);
    });

    it("close started by tcpwasm: FIN-WAIT-1, FIN-WAIT-2, TIME-WAIT here, nothing left in the kernel", async () => {
      const { port, a, ours } = await stackConnects();
      const sha = await writeRandom(ours.conn, 100_000); // then end(): our FIN
      expect(await a.next("end")).toMatchObject({ received: 100_000, sha });
      expect(await kernelSettles(port, ["CLOSE-WAIT"])).toEqual(["CLOSE-WAIT"]);
      a.send("end");
      expect(await ours.untilClose()).toBeUndefined();
      expect(ours.ended).toBe(true);
      expect(await a.next("close")).toMatchObject({ hadError: false });
      expect(statesOf(ours.conn)).toEqual(["CLOSED", "SYN-SENT", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT"]);
      expect(await kernelSettles(port, [])).toEqual([]);
    });

    it("simultaneous close: both FINs cross, both ends go through CLOSING to TIME-WAIT", async () => {
      const { port, a, ours } = await kernelConnects();
      simultaneousPort = port;
      // Hold the kernel's packets until its FIN is on the wire, then send ours: neither end has seen
      // the other's FIN when it sends its own.
      s.gate.hold();
      try {
        a.send("end");
        await a.next("ended");
        const deadline = Date.now() + 5_000;
        while (!s.gate.heldPackets.some((p) => tcpFlags(p) >= 0 && tcpFlags(p) & FIN)) {
          if (Date.now() > deadline) throw new Error("the kernel's FIN did not arrive within 5 s");
          await sleep(5);
        }
        ours.conn.end();
        // Our FIN leaves in the stack's next pump; the kernel takes it in FIN-WAIT-1 and goes to CLOSING.
        let kernel: string[] = [];
        for (let tries = 0; tries < 100; tries++) {
          kernel = await kernelStates(port);
          if (kernel[0] !== "FIN-WAIT-1") break;
          await sleep(20);
        }
        expect(kernel).toEqual(["CLOSING"]);
      } finally {
        s.gate.release();
      }
      expect(await ours.untilClose()).toBeUndefined();
      expect(ours.ended).toBe(true);
      expect(await a.next("end")).toMatchObject({ received: 0 });
      expect(await a.next("close")).toMatchObject({ hadError: false });
      expect(statesOf(ours.conn)).toEqual(["ESTABLISHED", "FIN-WAIT-1", "CLOSING", "TIME-WAIT"]);
      expect(await kernelSettles(port, ["TIME-WAIT"])).toEqual(["TIME-WAIT"]);
    });

    it("half-close by tcpwasm: after our FIN we keep reading 4 MiB the kernel sends", async () => {
      const { a, ours } = await stackConnects();
      const sha = await writeRandom(ours.conn, MIB);
      expect(await a.next("end")).toMatchObject({ received: MIB, sha });
      a.send("write", { bytes: 4 * MIB });
      const written = await a.next("written");
      a.send("end");
      expect(await ours.untilEnd()).toEqual({ bytes: 4 * MIB, sha: written.sha, ended: true });
      expect(await ours.untilClose()).toBeUndefined();
      expect(await a.next("close")).toMatchObject({ hadError: false });
      const states = statesOf(ours.conn);
      expect(states.slice(states.indexOf("FIN-WAIT-1"))).toEqual(["FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT"]);
    });

    it("half-close by the kernel: after its FIN it keeps reading 4 MiB we send", async () => {
      const { a, ours } = await kernelConnects();
      a.send("write", { bytes: MIB });
      const written = await a.next("written");
      a.send("end");
      expect(await ours.untilEnd()).toEqual({ bytes: MIB, sha: written.sha, ended: true });
      const sha = await writeRandom(ours.conn, 4 * MIB);
      expect(await a.next("end")).toMatchObject({ received: 4 * MIB, sha });
      expect(await ours.untilClose()).toBeUndefined();
      expect(await a.next("close")).toMatchObject({ hadError: false });
      expect(statesOf(ours.conn)).toEqual(["ESTABLISHED", "CLOSE-WAIT", "LAST-ACK", "CLOSED"]);
    });

    it("the kernel gets ECONNREFUSED from our RST on a closed port", async () => {
      const a = await agent();
      a.send("connect", { host: f.stack, port: 9 });
      expect(await a.next("error")).toMatchObject({ code: "ECONNREFUSED" });
      expect(s.stack.counters().resetsSent).toBeGreaterThan(0);
    });

    it("we report ECONNREFUSED for the kernel's RST on a closed port", async () => {
      const conn = s.stack.openConnection({ remote: f.kernel, remotePort: 9 });
      const ours = new Observed(conn);
      await expect(connected(conn)).rejects.toMatchObject({ code: "ECONNREFUSED" });
      expect(await ours.untilClose()).toMatchObject({ code: "ECONNREFUSED" });
      expect(statesOf(conn)).toEqual(["CLOSED", "SYN-SENT", "CLOSED"]);
    });

    it("abort() resets the kernel's socket (ECONNRESET), and its reset reaches us as ECONNRESET", async () => {
      const first = await kernelConnects();
      first.ours.conn.abort();
      expect(await first.ours.untilClose()).toBeUndefined();
      expect(await first.a.next("error")).toMatchObject({ code: "ECONNRESET" });
      const second = await stackConnects();
      second.a.send("reset");
      expect(await second.ours.untilClose()).toMatchObject({ code: "ECONNRESET" });
      expect(statesOf(second.ours.conn).at(-1)).toBe("CLOSED");
    });

    it(`answers ${f.family === 4 ? "ping" : "ping -6"}`, async () => {
      const before = s.stack.counters().icmpEchoReplies;
      const ping = await s.t.ns.exec("ping", [...(f.family === 6 ? ["-6"] : []), "-c3", "-i0.2", "-W2", f.stack], { timeoutMs: 15_000 });
      expect(ping.stdout).toContain("3 packets transmitted, 3 received");
      expect(ping.code).toBe(0);
      expect(s.stack.counters().icmpEchoReplies - before).toBe(3);
    });

    it("the capture has both FINs crossing, the RSTs, the echo replies; no checksum errors, nothing malformed", async () => {
      s.stop();
      const health = await captureHealth(s.pcapPath);
      expect(health.badChecksums).toEqual([]);
      expect(health.malformed).toEqual([]);
      const ip = f.family === 4 ? "ip" : "ipv6";
      const rst = (from: string) => `${ip}.src == ${from} && tcp.srcport == 9 && tcp.flags.reset == 1`;
      expect(await captureCount(s.pcapPath, rst(f.stack))).toBe(1); // ours, refusing the kernel
      expect(await captureCount(s.pcapPath, rst(f.kernel))).toBe(1); // the kernel's, refusing us
      // The crossing FINs: each one's ACK field is the other FIN's sequence number, so neither
      // acknowledges the other's FIN.
      const fins = await captureFields(s.pcapPath, `tcp.port == ${simultaneousPort} && tcp.flags.fin == 1`, [
        `${ip}.src`, "tcp.seq_raw", "tcp.ack_raw",
      ]);
      const ourFin = fins.filter(([src]) => src === f.stack);
      const kernelFin = fins.filter(([src]) => src === f.kernel);
      expect(ourFin).toHaveLength(1);
      expect(kernelFin.length).toBeGreaterThanOrEqual(1); // the kernel may retransmit it while held
      expect(ourFin[0][2]).toBe(kernelFin[0][1]);
      expect(kernelFin[0][2]).toBe(ourFin[0][1]);
      const echo = f.family === 4 ? "icmp.type == 0" : "icmpv6.type == 129";
      expect(await captureCount(s.pcapPath, `${ip}.src == ${f.stack} && ${echo}`)).toBe(3);
    });
  });
}
