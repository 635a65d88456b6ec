// TIME-WAIT reuse (RFC 6191, RFC 9293 3.10.7.4). A server that closes first (HTTP/1.0, `Connection: close`) holds
// the 4-tuple in TIME-WAIT for 2 MSL; a client that reuses its port at once must still get in: RFC
// 6191 (its TSval is newer than the last one seen) or RFC 9293 3.10.7.4 (no timestamps: its ISN is
// above the old RCV.NXT). When tcpwasm is the client, its new incarnation must be the one that moves
// forward: ISN and TSval past the old connection's, so a peer holding TIME-WAIT takes the SYN. The
// clock is virtual: between two connections it moves 10 ms (timestamps tick in ms, and a real
// client's next connection never starts in the same instant), and no timer fires: "at once" is exact.
import { afterEach, describe, expect, it } from "vitest";
import type { Stack, StackConnection } from "../../../src/tcp/stack.js";
import type { TraceEvent } from "../../../src/core/trace.js";
import { CLIENT, Hub, PORT, RawTcp, SERVER, bytes, settle, sha256 } from "../../fixtures/hostile.js";

let hub: Hub | undefined;
afterEach(() => {
  hub?.close();
  hub = undefined;
});

/** A server that answers each request with its SHA-256 and closes first. Returns the accepted count. */
function closingServer(server: Stack): { accepted: number } {
  const seen = { accepted: 0 };
  server.openListener({ port: PORT }, (conn) => {
    seen.accepted++;
    conn.onData = (chunk) => {
      conn.write(new TextEncoder().encode(sha256(chunk)));
      conn.end();
    };
    conn.onEnd = () => undefined;
  });
  return seen;
}

/** One request from a raw client; the server closes first, so the server ends in TIME-WAIT. */
async function rawExchange(raw: RawTcp, request: Uint8Array): Promise<void> {
  await raw.open();
  raw.tick();
  raw.sendData(request);
  await settle();
  raw.replies();
  expect(raw.peerFin).toBe(true);
  expect(raw.receivedBytes().toString()).toBe(sha256(request));
  // ACK the reply and the FIN with our own FIN; the server's last ACK puts it in TIME-WAIT.
  raw.tick();
  raw.send({ flags: { ack: true, fin: true } });
  raw.sndNxt = (raw.sndNxt + 1) >>> 0;
  await settle();
  const last = raw.replies();
  expect(last.some((p) => p.flags.ack && p.ack === raw.sndNxt)).toBe(true);
}

describe("a SYN for a 4-tuple the stack holds in TIME-WAIT", () => {
  it("with a newer timestamp (RFC 6191) starts a new connection at once", async () => {
    hub = await Hub.create();
    const server = await hub.stack(SERVER);
    const seen = closingServer(server);
    const first = new RawTcp(hub, { srcPort: 42000, timestamps: true, tsStart: 5000 });
    await rawExchange(first, bytes(300, 1));
    // Same port, a newer TSval, an ISN chosen at random (below the old one: only the timestamp vouches).
    const second = new RawTcp(hub, { srcPort: 42000, timestamps: true, tsStart: first.tsVal + 1, iss: (first.sndNxt - 100_000) >>> 0 });
    const synAck = await second.open();
    expect(synAck.flags.syn && synAck.flags.ack).toBe(true);
    second.tick();
    second.sendData(bytes(400, 2));
    await settle();
    second.replies();
    expect(second.receivedBytes().toString()).toBe(sha256(bytes(400, 2)));
    expect(seen.accepted).toBe(2);
    expect(hub.clock.now).toBe(0);
  });

  it("without timestamps, with an ISN above the old RCV.NXT (RFC 9293 3.10.7.4), starts a new connection at once", async () => {
    hub = await Hub.create();
    const server = await hub.stack(SERVER);
    const seen = closingServer(server);
    const first = new RawTcp(hub, { srcPort: 42001 });
    await rawExchange(first, bytes(300, 3));
    const second = new RawTcp(hub, { srcPort: 42001, iss: (first.sndNxt + 1_000_000) >>> 0 });
    const synAck = await second.open();
    expect(synAck.flags.syn && synAck.flags.ack).toBe(true);
    expect(seen.accepted).toBe(2);
  });

  it("with an older timestamp is not taken: the old incarnation answers with an ACK and keeps TIME-WAIT", async () => {
    hub = await Hub.create();
    const server = await hub.stack(SERVER);
    const seen = closingServer(server);
    const first = new RawTcp(hub, { srcPort: 42002, timestamps: true, tsStart: 5000 });
    await rawExchange(first, bytes(300, 4));
    const stale = new RawTcp(hub, { srcPort: 42002, timestamps: true, tsStart: first.tsVal - 10, iss: (first.sndNxt + 1_000_000) >>> 0 });
    hub.inject([stale.synSegment()]);
    await settle();
    const answers = stale.replies();
    expect(answers.some((p) => p.flags.syn)).toBe(false);
    // TIME-WAIT still holds the old incarnation: its answer acknowledges the old connection's FIN.
    expect(answers.some((p) => p.flags.ack && !p.flags.rst && p.ack === first.sndNxt)).toBe(true);
    expect(seen.accepted).toBe(1);
  });
});

describe("tcpwasm as the client reusing its port", () => {
  /** Segments a stack sent and the states its connections entered, from its trace. */
  function traced(into: Extract<TraceEvent, { kind: "segment" }>[], states: string[]) {
    return (e: TraceEvent) => {
      if (e.kind === "segment" && e.direction === "out") into.push(e);
      if (e.kind === "state") states.push(e.to);
    };
  }

  it("against a server that closed first: 20 connections in a row from one port, each accepted at once", async () => {
    hub = await Hub.create();
    const server = await hub.stack(SERVER);
    const client = await hub.stack(CLIENT);
    const seen = closingServer(server);
    const replies: string[] = [];
    for (let i = 0; i < 20; i++) {
      const request = bytes(200 + i, 10 + i);
      const conn: StackConnection = client.openConnection({ remote: SERVER, remotePort: PORT, localPort: 43000 });
      const got: Uint8Array[] = [];
      let closed = false;
      let failed: unknown;
      conn.onConnect = () => conn.write(request);
      conn.onData = (chunk) => got.push(chunk);
      conn.onEnd = () => conn.end();
      conn.onClose = (error) => {
        failed = error;
        closed = true;
      };
      // No time passes: a SYN that TIME-WAIT drops would need a retransmission, i.e. a timer.
      await settle();
      expect(closed, `connection ${i} from port 43000 did not complete at once`).toBe(true);
      expect(failed).toBeUndefined();
      replies.push(Buffer.concat(got).toString());
      expect(replies[i]).toBe(sha256(request));
      await hub.advanceTo(hub.clock.now + 10);
    }
    expect(seen.accepted).toBe(20);
    const c = client.counters();
    expect(c.retransmits + c.timeouts + c.resetsReceived).toBe(0);
    expect(server.counters().pawsDropped).toBe(0);
  });

  it("while it holds the 4-tuple in TIME-WAIT itself: the new SYN's ISN and TSval are above the old connection's", async () => {
    hub = await Hub.create();
    const server = await hub.stack(SERVER);
    const out: Extract<TraceEvent, { kind: "segment" }>[] = [];
    const states: string[] = [];
    const client = await hub.stack(CLIENT, { trace: traced(out, states) });
    const seen = closingServer(server);
    // The client closes first this time: it holds TIME-WAIT.
    server.openListener({ port: PORT + 1 }, (conn) => {
      seen.accepted++;
      conn.onData = () => undefined;
      conn.onEnd = () => conn.end();
    });
    const open = (): Promise<void> =>
      new Promise((resolve, reject) => {
        const conn = client.openConnection({ remote: SERVER, remotePort: PORT + 1, localPort: 43001 });
        conn.onConnect = () => {
          conn.write(bytes(100, 20));
          conn.end();
        };
        conn.onClose = (error) => (error ? reject(error) : resolve());
      });
    await open();
    await hub.advanceTo(hub.clock.now + 10);
    // The client closed first: it holds TIME-WAIT, for 2 MSL (60 s) of which 10 ms have passed.
    expect(states[states.length - 1]).toBe("TIME-WAIT");
    const firstSyn = out.find((s) => s.flags & 0x002)!;
    const lastOfFirst = out[out.length - 1]!;
    const before = out.length;
    await open();
    const secondSyn = out.slice(before).find((s) => s.flags & 0x002)!;
    expect(secondSyn).toBeDefined();
    // RFC 9293 3.10.7.4 / RFC 6191 from the peer's side: the new incarnation must be newer.
    const seqAfter = (a: number, b: number) => ((a - b) | 0) > 0;
    expect(seqAfter(secondSyn.seq, lastOfFirst.seq), `ISN ${secondSyn.seq} not above the old SND.NXT ${lastOfFirst.seq}`).toBe(true);
    const newTs = secondSyn.options?.timestamps?.value;
    const oldTs = lastOfFirst.options?.timestamps?.value;
    expect(firstSyn.options?.timestamps).toBeDefined();
    expect(newTs !== undefined && oldTs !== undefined && seqAfter(newTs, oldTs), `TSval ${newTs} not above the old ${oldTs}`).toBe(true);
    expect(seen.accepted).toBe(2);
    expect(client.counters().retransmits).toBe(0);
  });
});
