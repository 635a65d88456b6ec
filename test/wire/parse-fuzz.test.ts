// One million random and mutated packets through the batched parser of the debug build, whose
// bounds assertions trap on any read outside the bytes a check has validated: zero traps, every
// record accounted for, and every outcome equal to the plain-TypeScript reference parser's.
// Seeded: a failure names its batch and packet and reproduces.
import { beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { loadEngine, type LoadedEngine } from "../../src/core/loader.js";
import { Prng } from "../../src/core/prng.js";
import { REASON_NAMES } from "../../src/core/reasons.js";
import { buildPacket, hex, refParse, toHex, V4_SRC, V6_SRC, type BuildSpec } from "../fixtures/wire-reference.js";
import { recordSize } from "../../src/core/boundary.js";

type Core = LoadedEngine["exports"] & Record<string, (...args: number[]) => number>;

const TOTAL = 1_000_000;
const BATCH_BYTES = 768 * 1024;
const REASONS_AT = 800 * 1024; // u8 per record, after the batch inside the 1 MiB scratch region
const COUNTS_AT = REASONS_AT + 64 * 1024;

// Seed packets: every option kind, IPv4 options, IPv6 extension chains, payloads, Linux captures.
function templates(): Uint8Array[] {
  const out: Uint8Array[] = [];
  const optionSets = [
    "",
    "020405b4 0402080a 11111111 22222222 01030307",
    "020405b4 01010402 01030307",
    "0101080a 00001000 0c8bd686 01010512 45edc000 45edc5b4 45edcb68 45edd10c",
    "01010522 00000001 00000002 00000003 00000004 00000005 00000006 00000007 00000008",
    "1e06aabb ccdd0204 05b40000",
  ];
  const destOpts = { type: 60, bytes: hex("00000104 00000000") };
  for (const v6 of [false, true]) {
    for (const o of optionSets) {
      for (const payloadLen of [0, 1, 17, 200]) {
        const spec: BuildSpec = { v6, options: hex(o), payload: new Uint8Array(payloadLen).fill(0x5a), flags: 0x018 };
        out.push(buildPacket(spec));
        if (v6) out.push(buildPacket({ ...spec, ext: [{ type: 0, bytes: hex("00000104 00000000") }, destOpts, { type: 44, bytes: hex("00000000 01020304") }] }));
        else out.push(buildPacket({ ...spec, ipv4Options: hex("01010100 94040000") }));
      }
    }
  }
  out.push(buildPacket({ ipProto: 1, payload: hex("0800f7ff 00000000") }));
  // Same address and port both ways: a SYN is LAND, an ACK is one bit flip away from it.
  for (const [v6, addr] of [[false, V4_SRC], [true, V6_SRC]] as const) {
    for (const flags of [0x002, 0x010]) out.push(buildPacket({ v6, src: addr, dst: addr, srcPort: 7, dstPort: 7, flags }));
  }
  const golden = JSON.parse(readFileSync(new URL("../fixtures/golden/linux-packets.json", import.meta.url), "utf8")) as {
    packets: Array<{ hex: string }>;
  };
  for (const p of golden.packets) out.push(hex(p.hex));
  return out;
}

/** Offsets of the length-like fields of a packet built like the templates (best effort on garbage). */
function lengthFieldOffsets(b: Uint8Array): number[] {
  const offs: number[] = [];
  if (b.length === 0) return offs;
  const v6 = b[0]! >> 4 === 6;
  let t: number;
  if (v6) {
    offs.push(4, 5, 6);
    t = 40;
    let nh = b[6];
    for (let i = 0; i < 8 && t + 2 <= b.length && (nh === 0 || nh === 43 || nh === 60 || nh === 44); i++) {
      offs.push(t, t + 1, t + 2, t + 3);
      nh = b[t];
      t += nh === 44 ? 8 : (b[t + 1]! + 1) * 8;
    }
  } else {
    offs.push(0, 2, 3, 6, 9);
    t = (b[0]! & 0xf) * 4;
  }
  offs.push(t + 12);
  for (let at = t + 20; at < Math.min(b.length, t + 60); at++) offs.push(at);
  return offs.filter((o) => o < b.length);
}

const INTERESTING = [0, 1, 2, 3, 4, 5, 6, 8, 10, 0x12, 0x22, 0x2a, 0x3f, 0x40, 0x45, 0x4f, 0x50, 0x60, 0x7f, 0x80, 0xf0, 0xff];

function mutate(rng: Prng, seed: Uint8Array, scratch: Uint8Array): Uint8Array {
  const kind = rng.nextInt(8);
  if (kind === 0) {
    // Random bytes under a plausible version nibble.
    const b = rng.fill(scratch.subarray(0, rng.nextInt(120)));
    if (b.length) b[0] = (rng.chance(0.5) ? 0x40 : 0x60) | (b[0]! & 0xf);
    return b;
  }
  let len = seed.length;
  const b = scratch.subarray(0, len);
  b.set(seed);
  const rounds = 1 + rng.nextInt(3);
  for (let r = 0; r < rounds; r++) {
    switch (rng.nextInt(5)) {
      case 0: // bit flips
        for (let i = 1 + rng.nextInt(6); i > 0 && len > 0; i--) {
          const at = rng.nextInt(len);
          b[at] = b[at]! ^ (1 << rng.nextInt(8));
        }
        break;
      case 1: { // length field rewrite
        const offs = lengthFieldOffsets(b.subarray(0, len));
        if (offs.length === 0) break;
        const at = offs[rng.nextInt(offs.length)]!;
        b[at] = rng.chance(0.7) ? INTERESTING[rng.nextInt(INTERESTING.length)]! : rng.nextInt(256);
        break;
      }
      case 2: // truncation
        len = rng.nextInt(len + 1);
        break;
      case 3: { // option area of small kinds and lengths
        const start = Math.min(len, (b[0]! >> 4 === 6 ? 40 : 20) + 20);
        const n = Math.min(len - start, rng.nextInt(41));
        for (let i = 0; i < n; i++) b[start + i] = INTERESTING[rng.nextInt(INTERESTING.length)]!;
        break;
      }
      default: // nibble rewrite of IHL / data offset
        if (len > 0) b[0] = (b[0]! & 0xf0) | rng.nextInt(16);
        break;
    }
  }
  return b.subarray(0, len);
}

describe("fuzz: the batched parser of the debug build", () => {
  let engine: LoadedEngine;
  beforeAll(async () => {
    engine = await loadEngine({ flavor: "debug" });
  });

  it(`parses ${TOTAL.toLocaleString("en")} random and mutated packets without a trap, as the reference does`, () => {
    const core = engine.exports as Core;
    const seeds = templates();
    const rng = new Prng(0x7c9_2026);
    const staging = new Uint8Array(BATCH_BYTES);
    const stagingDv = new DataView(staging.buffer);
    const work = new Uint8Array(70000);
    const scratch = core.scratchPtr();
    const reasonsSeen = new Array<number>(REASON_NAMES.length).fill(0);
    let done = 0;
    for (let batch = 0; done < TOTAL; batch++) {
      const verify = batch % 4 === 0;
      const packets: Uint8Array[] = [];
      let off = 0;
      while (done + packets.length < TOTAL) {
        const p = mutate(rng, seeds[rng.nextInt(seeds.length)]!, work);
        const next = off + recordSize(p.length);
        if (next > BATCH_BYTES) break;
        stagingDv.setUint32(off, p.length, true);
        staging.set(p, off + 4);
        packets.push(p.slice());
        off = next;
      }
      engine.views.u8.set(staging.subarray(0, off), scratch);
      const n = core.parseBatch(scratch, off, verify ? 1 : 0, scratch + REASONS_AT, scratch + COUNTS_AT);
      expect(n).toBe(packets.length);
      const reasons = engine.views.u8.subarray(scratch + REASONS_AT, scratch + REASONS_AT + n);
      const counts = new Uint32Array(engine.exports.memory.buffer, scratch + COUNTS_AT, REASON_NAMES.length);
      const tally = new Array<number>(REASON_NAMES.length).fill(0);
      for (let i = 0; i < n; i++) {
        const want = refParse(packets[i]!, verify).reason;
        if (reasons[i] !== want) {
          throw new Error(`batch ${batch} packet ${i} (verify ${verify}): core ${REASON_NAMES[reasons[i]!]}, reference ${REASON_NAMES[want]}: ${toHex(packets[i]!)}`);
        }
        tally[want] += 1;
        reasonsSeen[want] += 1;
      }
      expect(Array.from(counts)).toEqual(tally);
      done += n;
    }
    expect(done).toBe(TOTAL);
    // The mutations reach every refusal the parser has.
    REASON_NAMES.forEach((name, code) => expect(reasonsSeen[code], name).toBeGreaterThan(0));
  }, 120_000);

  it("stops at a record whose length runs past the batch, and at the batch end", () => {
    const core = engine.exports as Core;
    const scratch = core.scratchPtr();
    const p = buildPacket();
    const dv = engine.views.dv;
    dv.setUint32(scratch, p.length, true);
    engine.views.u8.set(p, scratch + 4);
    dv.setUint32(scratch + 44, 1000, true); // claims 1000 bytes of a 64-byte batch
    expect(core.parseBatch(scratch, 64, 1, scratch + REASONS_AT, 0)).toBe(1);
    expect(engine.views.u8[scratch + REASONS_AT]).toBe(0);
    expect(core.parseBatch(scratch, 44, 1, 0, 0)).toBe(1);
    expect(core.parseBatch(scratch, 3, 1, 0, 0)).toBe(0);
    dv.setUint32(scratch + 44, 0, true); // an empty record is a TRUNCATED packet
    expect(core.parseBatch(scratch, 48, 1, scratch + REASONS_AT, 0)).toBe(2);
    expect(engine.views.u8[scratch + REASONS_AT + 1]).toBe(1);
  });
});
