// The capture checks every interop scenario relies on (peers.ts captureHealth) catch what they claim
// to: a bad IPv4 header or TCP checksum, a truncated TCP header, and the stack writing a TCP checksum
// as 0xffff; while the kernel's 0xffff for 0x0000 (Linux's CSUM_MANGLED_0) is reported on its own.

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { PcapWriter } from "../../src/tools/pcap.js";
import { captureHealth } from "../fixtures/interop/peers.js";

const hasTshark = spawnSync("tshark", ["--version"], { stdio: "ignore" }).status === 0;
if (!hasTshark) console.warn("capture health tests SKIPPED: missing tshark (apt-get install it, as .ci/run does)");

function onesSum(bytes: Uint8Array, initial = 0): number {
  let sum = initial;
  for (let i = 0; i + 1 < bytes.length; i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
  if (bytes.length & 1) sum += bytes[bytes.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** An IPv4 TCP segment (20-byte header, ACK) from `src` to `dst` with correct checksums. */
function segment(src: number[], dst: number[], seq: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const p = new Uint8Array(40 + payload.length);
  const dv = new DataView(p.buffer);
  p[0] = 0x45;
  dv.setUint16(2, p.length);
  p[8] = 64;
  p[9] = 6;
  p.set(src, 12);
  p.set(dst, 16);
  dv.setUint16(10, ~onesSum(p.subarray(0, 20)) & 0xffff);
  dv.setUint16(20, 40000);
  dv.setUint16(22, 80);
  dv.setUint32(24, seq);
  p[32] = 0x50;
  p[33] = 0x10;
  dv.setUint16(34, 1000);
  p.set(payload, 40);
  const pseudo = new Uint8Array(12);
  pseudo.set(src, 0);
  pseudo.set(dst, 4);
  pseudo[9] = 6;
  new DataView(pseudo.buffer).setUint16(10, 20 + payload.length);
  dv.setUint16(36, ~onesSum(p.subarray(20), onesSum(pseudo)) & 0xffff);
  return p;
}

/** A payload that makes the TCP checksum come out as 0x0000 for `segment(src, dst, seq, ...)`. */
function zeroChecksumSegment(src: number[], dst: number[], seq: number): Uint8Array {
  const p = segment(src, dst, seq, new Uint8Array(2));
  const checksum = new DataView(p.buffer).getUint16(36);
  // Adding x to the data lowers the checksum by x (ones' complement): pick x = the checksum.
  return segment(src, dst, seq, Uint8Array.of(checksum >> 8, checksum & 0xff));
}

const KERNEL = [10, 77, 0, 1];
const STACK = [10, 77, 0, 2];

describe.skipIf(!hasTshark)("captureHealth", () => {
  const dir = mkdtempSync(join(tmpdir(), "tcpwi-health-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const capture = (name: string, packets: Uint8Array[]) => {
    const chunks: Uint8Array[] = [];
    const w = new PcapWriter((c) => chunks.push(c));
    packets.forEach((p, i) => w.write(p, 1_700_000_000_000 + i));
    const path = join(dir, name);
    writeFileSync(path, Buffer.concat(chunks));
    return path;
  };

  it("a clean capture has nothing to report", async () => {
    const h = await captureHealth(capture("clean.pcap", [segment(KERNEL, STACK, 1), segment(STACK, KERNEL, 7, new Uint8Array(100))]));
    expect(h).toEqual({ packets: 2, tcp: 2, badChecksums: [], malformed: [], peerMinusZero: [] });
  });

  it("reports a bad IPv4 header checksum, a bad TCP checksum and a truncated TCP header", async () => {
    const badIp = segment(STACK, KERNEL, 1);
    badIp[11] ^= 1;
    const badTcp = segment(STACK, KERNEL, 2, new Uint8Array(10));
    badTcp[45] ^= 0x40;
    const truncated = segment(STACK, KERNEL, 3);
    truncated[32] = 0xf0; // data offset 60 bytes in a 20-byte header
    const h = await captureHealth(capture("bad.pcap", [badIp, badTcp, truncated]));
    expect(h.badChecksums.map((b) => b.split(" ")[1])).toEqual(["1", "2", "3"]);
    expect(h.malformed.map((b) => b.split(" ")[1])).toEqual(["3"]);
  });

  it("a checksum of 0x0000 written as 0xffff: the kernel's is set apart, the stack's is bad", async () => {
    const fromKernel = zeroChecksumSegment(KERNEL, STACK, 10);
    const fromStack = zeroChecksumSegment(STACK, KERNEL, 11);
    expect(new DataView(fromKernel.buffer).getUint16(36)).toBe(0);
    for (const p of [fromKernel, fromStack]) new DataView(p.buffer).setUint16(36, 0xffff);
    const h = await captureHealth(capture("minus-zero.pcap", [fromKernel, fromStack]));
    expect(h.peerMinusZero).toHaveLength(1);
    expect(h.peerMinusZero[0]).toContain("10.77.0.1:40000");
    expect(h.badChecksums).toHaveLength(1);
    expect(h.badChecksums[0]).toContain("10.77.0.2:40000");
  });
});
