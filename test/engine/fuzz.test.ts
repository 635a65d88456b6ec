// Hostile input against the debug build (its assertions check every ring and window access): random
// segments around the windows, with random user calls and clock jumps, from every state. The engine
// must never trap, and every byte it took must go back to the pool once the connection is gone.
import { describe, expect, it } from "vitest";
import { Script, established, synReceived, synSent, finWait1, closeWait, timeWait, ACK, SYN, RST, FIN, PSH, establishedWithOptions } from "../fixtures/engine-script.js";
import { takeOutput } from "../fixtures/engine-io.js";
import { Prng } from "../../src/core/prng.js";

/** ESTABLISHED with window scaling, timestamps and SACK negotiated. */
/** ESTABLISHED with window scaling, SACK and timestamps in force and a 256 KiB receive ring. */
const establishedWithAllOptions = () =>
  establishedWithOptions({ windowScaling: true, timestamps: true, sack: true, recvBuffer: 1 << 18 }, { wscale: 6, sackPermitted: true, tsVal: 1 });

const FIXTURES: Array<[string, (c?: object) => Promise<Script>]> = [
  ["ESTABLISHED with options", establishedWithAllOptions],
  ["SYN-SENT", synSent], ["SYN-RECEIVED", synReceived], ["ESTABLISHED", established],
  ["FIN-WAIT-1", finWait1], ["CLOSE-WAIT", closeWait], ["TIME-WAIT", timeWait],
];

describe("random segments and calls never trap and never leak", () => {
  for (const [name, fixture] of FIXTURES) {
    for (const seed of [1, 2]) {
      it(`${name}, seed ${seed}`, async () => {
        const s = await fixture();
        const baseline = (await Script.create({ recvBuffer: 1 << 18 })).engine.memoryInUse();
        const stream = new Prng(seed * 7919 + name.length);
        const rand = () => stream.nextU32();
        const pick = <T>(xs: readonly T[]) => xs[rand() % xs.length]!;
        const flagsChoices = [ACK, ACK | PSH, ACK | FIN, RST, RST | ACK, SYN, SYN | ACK, FIN, 0, ACK | SYN | FIN | RST];
        for (let step = 0; step < 600; step++) {
          if (s.id === 0) s.events(true); // SYN-RECEIVED: the id arrives with ACCEPTED
          const st = s.id === 0 || s.engine.raw.connState(s.id) < 0 ? "CLOSED" : s.engine.state(s.id);
          const action = rand() % 10;
          if (action < 6) {
            const around = (base: number, spread: number) => (base + (rand() % (2 * spread)) - spread) >>> 0;
            const status = st === "CLOSED" ? null : s.engine.status(s.id);
            const seq = status ? around(status.rcvNxt, 70000) : rand();
            const ack = status ? around(status.sndUna, 70000) : rand();
            const len = pick([0, 0, 1, 100, 1460, 3000]);
            const sack: Array<[number, number]> = rand() % 4 === 0 ? [[around(ack, 5000), around(ack, 5000)]] : [];
            s.send({
              flags: pick(flagsChoices), seq, ack, window: rand() & 0xffff, payload: "f".repeat(len),
              timestamps: rand() % 5 === 0 ? null : { value: rand(), echo: rand() }, sack,
              wscale: rand() % 8 === 0 ? rand() % 15 : null, mss: rand() % 8 === 0 ? rand() & 0xffff : null,
            });
          } else if (action === 6 && s.id !== 0) {
            try { s.engine.send(s.id, new Uint8Array(rand() % 5000), s.now); } catch { /* EPIPE / ENOTCONN */ }
          } else if (action === 7 && s.id !== 0) {
            try { s.engine.recv(s.id, s.now, rand() % 4000); } catch { /* EBADF never: the handle is held */ }
          } else if (action === 8) {
            s.advance(rand() % 3000);
          } else if (rand() % 20 === 0 && s.id !== 0) {
            try { s.engine.close(s.id, s.now); } catch { /* EBADF after the fixture's child went away */ }
          }
          takeOutput(s.engine, s.now);
          s.events(true);
        }
        if (s.id !== 0 && s.engine.raw.connState(s.id) >= 0) {
          s.engine.abort(s.id, s.now);
          s.engine.release(s.id, s.now);
        }
        if (s.listener) {
          s.engine.close(s.listener, s.now);
          s.engine.release(s.listener, s.now);
        }
        // Half-open connections the fuzz opened go away by their SYN,ACK retries.
        for (let i = 0; i < 50 && s.engine.nextDeadline() < Infinity; i++) {
          s.advanceToDeadline();
          takeOutput(s.engine, s.now);
        }
        for (const e of s.events(true)) if (e.type === "accepted") s.engine.release(e.id, s.now);
        for (let i = 0; i < 50 && s.engine.nextDeadline() < Infinity; i++) {
          s.advanceToDeadline();
          takeOutput(s.engine, s.now);
        }
        expect(s.engine.liveConnections()).toBe(0);
        expect(s.engine.memoryInUse()).toBe(baseline);
      });
    }
  }
});
