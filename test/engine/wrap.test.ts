// Sequence numbers wrap (RFC 9293 3.4, modulo 2^32): more than 4 GiB one way through two engines on
// the release build, every byte checked against a pattern whose period (a prime) catches any byte
// lost, duplicated or shifted. SND.UNA passes ISS again on the way.
import { describe, expect, it } from "vitest";
import { Engine } from "../../src/core/engine.js";
import { takeEvents } from "../fixtures/engine-io.js";
import { ADDRESS_A, ADDRESS_B, Pair, SERVER_PORT } from "../fixtures/pair.js";

const PERIOD = 1048573;

describe("sequence number wrap-around", () => {
  it("moves 4.25 GiB intact, SND.UNA passing ISS again", async () => {
    const config = { sendBuffer: 1 << 20, recvBuffer: 1 << 20 };
    const pair = await Pair.create({ flavor: "simd", config, seed: 5 });
    const a = pair.a.engine;
    const b = pair.b.engine;
    const pattern = new Uint8Array(2 * PERIOD);
    for (let i = 0; i < pattern.length; i++) pattern[i] = (i % PERIOD) * 131 + 7;
    b.listen({ port: SERVER_PORT });
    const client = a.connect({ local: ADDRESS_A, remote: ADDRESS_B, remotePort: SERVER_PORT }, pair.now);

    for (let i = 0; i < 4; i++) pair.exchange();
    const server = (takeEvents(b).find((e) => e.type === "accepted") as { id: number }).id;
    const iss = a.status(client).iss;
    const total = 4.25 * 2 ** 30;
    let sent = 0;
    let received = 0;
    let mismatches = 0;
    let passedIss = false;
    while (received < total) {
      const space = a.raw.connSendSpace(client);
      if (space > 0 && sent < total) {
        const n = Math.min(space, total - sent, PERIOD);
        const at = sent % PERIOD;
        a.memory.u8.set(pattern.subarray(at, at + n), a.raw.connSendPtr(client) >>> 0);
        a.raw.connSendCommitMs(client, n, pair.now);
        sent += n;
      }
      pair.send("A");
      for (;;) {
        const n = b.raw.connRecvAvail(server);
        if (n <= 0) break;
        const take = Math.min(n, PERIOD);
        const p = b.raw.connRecvPtr(server) >>> 0;
        const at = received % PERIOD;
        if (Buffer.compare(b.memory.u8.subarray(p, p + take), pattern.subarray(at, at + take)) !== 0) mismatches++;
        b.raw.connRecvConsumeMs(server, take, pair.now);
        received += take;
      }
      pair.send("B");
      takeEvents(a);
      takeEvents(b);
      if (!passedIss && received > 2 ** 32 - 2 ** 20) passedIss = true;
      pair.now += 0.05;
      a.timers(pair.now);
      b.timers(pair.now);
    }
    expect(received).toBe(total);
    expect(mismatches).toBe(0);
    expect(passedIss).toBe(true);
    // The last segment's ACK may wait for the delayed-ACK timer (RFC 9293 3.8.6.3): reading it frees
    // less than the window-update threshold once auto-sizing has grown the receive ring.
    pair.now += 50;
    b.timers(pair.now);
    pair.send("B");
    const st = a.status(client);
    expect((st.sndUna - iss) >>> 0).toBe((total + 1) % 2 ** 32);
  });
});
