// The WebAssembly boundary has one host definition (src/core/boundary.ts); this checks it against the
// core, so that a change on one side cannot silently break the other. The numbering tables are
// AssemblyScript const enums, which leave nothing at run time: they are read from assembly/ sources.
// The layouts are checked twice: the offsets the core stores at (its sources) are exactly the host's,
// and a real connection's STATUS and trace event decode to what the wire and the configuration say.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Engine } from "../../src/core/engine.js";
import {
  COUNTER_BASE, COUNTER_NAMES, ConfigKey, ConnOption, EPHEMERAL_DEFAULT, EVENT, EVENT_SIZE, EventType, REGION_MAX, STATUS,
  STATUS_F64, STATUS_SIZE, TX, TX_RECORD_HEADER, recordSize, txRecordSize, UDP_COUNTER_NAMES, UDP_RECORD, UDP_RECV_HEADER,
  UDP_RX_FLAG, UDP_SEND_HEADER, UDP_TX_FRAME,
} from "../../src/core/boundary.js";
import { TcpFlag } from "../../src/core/trace.js";
import { loadWire, type ParsedPacket } from "../../src/core/wire.js";
import { takeEvents, takeOutput } from "../fixtures/engine-io.js";

const source = (file: string) => readFileSync(new URL(`../../assembly/${file}`, import.meta.url), "utf8");

/** The members of `export const enum name { ... }` in an assembly/ file, comments skipped. */
function enumMembers(file: string, name: string): Record<string, number> {
  const text = source(file);
  const start = text.indexOf(`export const enum ${name} {`);
  expect(start, `${file} declares enum ${name}`).toBeGreaterThanOrEqual(0);
  const body = text.slice(start, text.indexOf("\n}", start)).replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "");
  const out: Record<string, number> = {};
  for (const m of body.matchAll(/^\s*([A-Z][A-Z0-9_]*)\s*=\s*(\d+)\s*,?\s*$/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

/** SCREAMING_SNAKE to the host's camelCase. */
const camel = (s: string) => s.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** The host's table as the core's would be written: camelCase names to numbers, with no COUNT sentinel. */
function asHost(members: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(members)) if (k !== "COUNT") out[camel(k)] = v;
  return out;
}

/** The value of `export const NAME: u32 = <expr>;` in an assembly/ file (a number or `a << b`). */
function constant(file: string, name: string): number {
  const m = source(file).match(new RegExp(`export const ${name}: u32 = ([^;]+);`));
  expect(m, `${file} declares ${name}`).not.toBeNull();
  const shift = m![1]!.match(/^(\d+) << (\d+)$/);
  return shift ? Number(shift[1]) * 2 ** Number(shift[2]) : Number(m![1]);
}

/** The byte offsets (and store types) at which `fn` in an assembly/ file stores into its record. */
function storeOffsets(file: string, fn: string): Map<number, string> {
  const text = source(file);
  const start = text.indexOf(`export function ${fn}(`);
  expect(start, `${file} has ${fn}`).toBeGreaterThanOrEqual(0);
  const body = text.slice(start, text.indexOf("\n}", start));
  const out = new Map<number, string>();
  for (const m of body.matchAll(/store<(u16|u32|f64)>\(p, [^;]*?(?:, (\d+))?\);/g)) out.set(Number(m[2] ?? 0), m[1]!);
  return out;
}

describe("the numbers that cross the boundary", () => {
  it("ConfigKey, ConnOption, EventType and the counters are numbered as the core numbers them", () => {
    expect(asHost(enumMembers("engine/config.ts", "ConfigKey"))).toEqual(ConfigKey);
    expect(asHost(enumMembers("engine/status.ts", "ConnOption"))).toEqual(ConnOption);
    expect(asHost(enumMembers("engine/events.ts", "EventType"))).toEqual(EventType);
    const counters = asHost(enumMembers("engine/counters.ts", "Counter"));
    expect(Object.fromEntries(COUNTER_NAMES.map((n, i) => [n, i]))).toEqual(counters);
  });

  it("sizes, bases and defaults match the core's constants", () => {
    expect(constant("engine/events.ts", "EVENT_SIZE")).toBe(EVENT_SIZE);
    expect(constant("engine/counters.ts", "COUNTER_BASE")).toBe(COUNTER_BASE);
    expect(constant("engine/status.ts", "STATUS_SIZE")).toBe(STATUS_SIZE);
    expect(constant("engine/config.ts", "REGION_MAX")).toBe(REGION_MAX);
    const config = source("engine/config.ts");
    expect(config).toContain(`export let ephemeralLow: u32 = ${EPHEMERAL_DEFAULT.low};`);
    expect(config).toContain(`export let ephemeralHigh: u32 = ${EPHEMERAL_DEFAULT.high};`);
  });

  it("UDP: the counters, record headers, flags and the receive record's field offsets are the core's (assembly/engine/udp.ts)", () => {
    const counters = asHost(enumMembers("engine/udpcounters.ts", "UdpCounter"));
    expect(Object.fromEntries(UDP_COUNTER_NAMES.map((n, i) => [n, i]))).toEqual(
      Object.fromEntries(Object.entries(counters).map(([k, v]) => [`udp${k[0]!.toUpperCase()}${k.slice(1)}`, v])),
    );
    expect(constant("engine/udp.ts", "UDP_RECV_HEADER")).toBe(UDP_RECV_HEADER);
    expect(constant("engine/udp.ts", "UDP_SEND_HEADER")).toBe(UDP_SEND_HEADER);
    expect(constant("engine/udp.ts", "RX_BROADCAST")).toBe(UDP_RX_FLAG.broadcast);
    expect(constant("engine/udp.ts", "RX_MULTICAST")).toBe(UDP_RX_FLAG.multicast);
    expect(constant("engine/udp.ts", "TX_FRAME")).toBe(UDP_TX_FRAME);
    const text = source("engine/udp.ts");
    for (const [field, type] of [["payloadLen", "u32"], ["socketId", "u32"], ["ipVersion", "u8"], ["flags", "u8"], ["srcPort", "u16"], ["dstPort", "u16"], ["ifIndex", "u16"]] as const) {
      const at = UDP_RECORD[field];
      expect(text, field).toMatch(new RegExp(`store<${type}>\\(p, [^;]*${at === 0 ? "\\);" : `, ${at}\\);`}`));
    }
    expect(text).toContain(`storeAddress(p + ${UDP_RECORD.srcAddress},`);
    expect(text).toContain(`storeAddress(p + ${UDP_RECORD.dstAddress},`);
    expect(text).toContain(`load<u16>(r, ${UDP_RECORD.dstPort})`);
    expect(text).toContain(`load<u8>(r, ${UDP_RECORD.ipVersion})`);
  });

  it("TCP flag bits are the core's FLG_* (assembly/wire/tcp.ts)", () => {
    const text = source("wire/tcp.ts");
    for (const [name, bit] of Object.entries(TcpFlag)) {
      const m = text.match(new RegExp(`export const FLG_${name}: u16 = (0x[0-9a-f]+);`));
      expect(m, `FLG_${name}`).not.toBeNull();
      expect(Number(m![1])).toBe(bit);
    }
  });

  it("the core stores STATUS and event records at exactly the host's offsets, with the host's types", () => {
    const status = storeOffsets("engine/status.ts", "connStatus");
    const host = new Map<number, string>();
    for (const [name, at] of Object.entries(STATUS)) {
      // The addresses are 16-byte blocks written by storeAddress, not single stores.
      if (name === "localAddress" || name === "remoteAddress") continue;
      host.set(at, STATUS_F64.has(name as keyof typeof STATUS) ? "f64" : "u32");
    }
    expect(status).toEqual(host);
    expect(source("engine/status.ts")).toContain(`storeAddress(p + ${STATUS.localAddress},`);
    expect(source("engine/status.ts")).toContain(`storeAddress(p + ${STATUS.remoteAddress},`);

    const event = new Map([...storeOffsets("engine/events.ts", "emitEvent"), ...storeOffsets("engine/events.ts", "traceSegment")]);
    expect(event).toEqual(new Map([
      [EVENT.type, "u16"], [EVENT.code, "u16"], [EVENT.id, "u32"], [EVENT.a, "u32"], [EVENT.ack, "u32"], [EVENT.window, "u32"],
      [EVENT.length, "u32"], [EVENT.options, "u32"], [EVENT.mss, "u32"], [EVENT.tsVal, "u32"], [EVENT.tsEcr, "u32"],
    ]));
    expect(source("engine/events.ts")).toContain(`memory.copy(p + ${EVENT.sack},`);
  });

  it("records are framed as the core walks them (u32 length, packet, padding to 4)", () => {
    expect(source("wire/api.ts")).toContain("off = (off + 4 + len + 3) & ~3;");
    for (const [length, size] of [[0, 4], [1, 8], [3, 8], [4, 8], [5, 12], [40, 44], [41, 48]]) expect(recordSize(length!)).toBe(size);
  });

  it("TX records are framed as the core writes them (u32 length, u32 meta, 16 bytes headroom, data, padding to 4)", () => {
    const emit = source("engine/emit.ts");
    expect(emit).toContain(`export const TX_RECORD_HEADER: u32 = ${TX_RECORD_HEADER};`);
    expect(emit).toContain(`export const TX_META: usize = ${TX.meta};`);
    expect(emit).toContain(`export const TX_META_IP: u32 = ${TX.ip};`);
    expect(emit).toContain(`export const TX_META_FRAME: u32 = ${TX.frame};`);
    expect(emit).toContain(`export const TX_META_HELD: u32 = 0x${TX.held.toString(16)};`);
    expect(emit).toContain("return TX_RECORD_HEADER + ((dataLen + 3) & ~3);");
    for (const [length, size] of [[0, 24], [1, 28], [4, 28], [5, 32], [40, 64], [41, 68]]) expect(txRecordSize(length!)).toBe(size);
  });
});

describe("the layouts, on a real connection", () => {
  it("STATUS and a SEGMENT_OUT trace record decode to what the configuration and the wire say", async () => {
    const engine = await Engine.create({ flavor: "debug", config: { trace: true, rtoInitialMs: 1234, timestamps: true, sack: true, windowScaling: true } });
    const wire = await loadWire({ flavor: "debug" });
    const id = engine.connect({ local: "10.0.0.1", remote: "10.0.0.2", remotePort: 80, localPort: 40000 }, 5, { sendBuffer: 8192, recvBuffer: 65536 });
    const [syn] = takeOutput(engine, 5);
    const p = wire.parsePacket(syn!) as ParsedPacket;
    expect(p.flags.syn).toBe(true);

    const s = engine.status(id);
    expect(s).toMatchObject({
      state: "SYN-SENT", iss: p.seq, sndUna: p.seq, sndNxt: (p.seq + 1) >>> 0, localPort: 40000, remotePort: 80,
      localAddress: "10.0.0.1", remoteAddress: "10.0.0.2", ipVersion: 4, sendBuffer: 8192, recvBuffer: 65536,
      rtoMs: 1234, localMss: p.options.mss,
    });

    const out = takeEvents(engine).find((e) => e.type === "segment" && e.direction === "out");
    expect(out).toEqual({
      type: "segment", id, direction: "out", flags: p.flagBits, seq: p.seq, ack: p.ack, window: p.window, length: 0,
      options: {
        mss: p.options.mss, wscale: p.options.wscale, sackPermitted: true,
        timestamps: { value: p.options.timestamps!.value, echo: p.options.timestamps!.echo },
      },
    });
  });
});
