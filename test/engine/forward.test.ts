// Gateway mode in the engine (assembly/engine/forward.ts), as packet scripts: an interface marked
// any-destination, the any-destination listener, SYNs held in SYN-RECEIVED with nothing sent until the
// host accepts (the SYN,ACK) or refuses (a RST, or an ICMP destination unreachable quoting the SYN),
// and a held connection's peer giving up.
import { describe, expect, it } from "vitest";
import { ACK, LOCAL, REMOTE, REMOTE_PORT, RST, SYN, Script, TEMPL } from "../fixtures/engine-script.js";
import { takeOutput } from "../fixtures/engine-io.js";

/** A script whose engine has interface 0 in gateway mode and the IPv4 any-destination listener. */
async function gateway(anyDestination = true): Promise<Script> {
  const s = await Script.create();
  s.engine.configureInterface(0, { kind: "ip", mtu: 1500, routes: [], ...(anyDestination && { anyDestination: { echo: true } }) }, 0);
  s.listener = s.engine.listenAny(4, 16);
  return s;
}

/** The SYN arrives and is held: the host is told, nothing is sent. */
function held(s: Script): void {
  s.send({ flags: SYN, seq: 10000, ack: 0, mss: 1460 });
  const events = s.events();
  expect(events).toEqual([{ type: "synHeld", id: expect.any(Number), listener: s.listener }]);
  s.id = (events[0] as { id: number }).id;
  s.recvNothing();
  expect(s.state()).toBe("SYN-RECEIVED");
}

describe("engine: the any-destination listener", () => {
  it("holds a SYN: nothing sent while held, retransmitted SYNs ignored, the SYN,ACK on acceptHeld, ACCEPTED after the ACK", async () => {
    const s = await gateway();
    held(s);
    expect(s.engine.endpoints(s.id)).toMatchObject({ localAddress: LOCAL, localPort: 80, remoteAddress: REMOTE, remotePort: REMOTE_PORT });
    // Three seconds: the peer's SYN again, and no timer of ours answers it.
    s.advance(1000);
    s.send({ flags: SYN, seq: 10000, ack: 0, mss: 1460 });
    s.advance(2000);
    s.recvNothing();
    expect(s.events()).toEqual([]);
    s.engine.acceptHeld(s.id);
    const synAck = s.next();
    s.iss = synAck.seq;
    expect(synAck).toEqual({ ...TEMPL, flags: SYN | ACK, seq: s.iss, ack: 10001, window: 65535, mss: 1460 });
    s.send({ flags: ACK, seq: 10001, ack: s.l(1) });
    expect(s.events()).toEqual([{ type: "accepted", id: s.id, listener: s.listener }]);
    expect(s.state()).toBe("ESTABLISHED");
    expect(() => s.engine.acceptHeld(s.id)).toThrow(expect.objectContaining({ code: "EINVAL" }));
  });

  it("refuseHeld('reset'): <SEQ=0><ACK=SEG.SEQ+1><CTL=RST,ACK> as from a closed port, then CLOSED", async () => {
    const s = await gateway();
    held(s);
    s.engine.refuseHeld(s.id, "reset");
    s.recv({ flags: RST | ACK, seq: 0, ack: 10001, window: 0 });
    expect(s.events()).toEqual([{ type: "closed", id: s.id }]);
  });

  for (const [how, code] of [["host", 1], ["port", 3], ["admin", 13]] as const) {
    it(`refuseHeld('${how}'): ICMP destination unreachable code ${code} from the destination, quoting the SYN`, async () => {
      const s = await gateway();
      held(s);
      s.engine.refuseHeld(s.id, how);
      const out = takeOutput(s.engine, s.now);
      expect(out.length).toBe(1);
      const p = out[0]!;
      expect([p[9], p[20], p[21]]).toEqual([1, 3, code]);
      expect(Array.from(p.subarray(12, 16)).join(".")).toBe(LOCAL);
      expect(Array.from(p.subarray(16, 20)).join(".")).toBe(REMOTE);
      const quoted = p.subarray(28);
      expect(Array.from(quoted.subarray(12, 16)).join(".")).toBe(REMOTE);
      expect((quoted[20]! << 8) | quoted[21]!).toBe(REMOTE_PORT);
      expect((quoted[22]! << 8) | quoted[23]!).toBe(80);
      expect(new DataView(quoted.buffer, quoted.byteOffset).getUint32(24)).toBe(10000);
      expect(quoted[33]).toBe(SYN);
      expect(s.events()).toEqual([{ type: "closed", id: s.id }]);
    });
  }

  it("a peer that gives up while held: a RST at RCV.NXT resets the held connection; one elsewhere is ignored", async () => {
    const s = await gateway();
    held(s);
    s.send({ flags: RST, seq: 20000, ack: 0 });
    expect(s.events()).toEqual([]);
    s.send({ flags: RST, seq: 10001, ack: 0 });
    expect(s.events()).toEqual([{ type: "reset", id: s.id, error: "ECONNRESET" }, { type: "closed", id: s.id }]);
    s.recvNothing();
  });

  it("a held connection the host aborts or releases without an answer is refused with a RST and freed", async () => {
    const s = await gateway();
    const live = s.engine.liveConnections();
    held(s);
    s.engine.abort(s.id, s.now);
    s.recv({ flags: RST | ACK, seq: 0, ack: 10001, window: 0 });
    expect(s.events()).toEqual([{ type: "closed", id: s.id }]);
    s.engine.release(s.id, s.now);
    expect(s.engine.liveConnections()).toBe(live);
    held(s);
    s.engine.release(s.id, s.now);
    s.recv({ flags: RST | ACK, seq: 0, ack: 10001, window: 0 });
    expect(s.engine.liveConnections()).toBe(live);
  });

  it("an interface not in gateway mode: the any-destination listener takes nothing, a closed port answers RST", async () => {
    const s = await gateway(false);
    s.send({ flags: SYN, seq: 10000, ack: 0, mss: 1460 });
    expect(s.events()).toEqual([]);
    s.recv({ flags: RST | ACK, seq: 0, ack: 10001, window: 0 });
  });
});
