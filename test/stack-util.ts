// Helpers for stack tests over the in-memory link: data with a SHA-256 check, writing with
// backpressure, collecting what arrives, waiting for a listener's first connection, ICMP echo requests.
import { createHash } from "node:crypto";
import type { Stack, StackConnection } from "../src/tcp/stack.js";
import { Prng } from "../src/core/prng.js";
import { checksumRef, pseudoHeaderSumV6Ref } from "./reference/checksum.js";
import { buildPacket } from "./wire-reference.js";

export function data(n: number, seed: number): Uint8Array {
  return new Prng(seed).fill(new Uint8Array(n));
}

export function sha(parts: Uint8Array[]): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest("hex");
}

/** Writes everything, waiting for onWritable when the send ring is full; then end() if asked. */
export function writeAll(conn: StackConnection, bytes: Uint8Array, end: boolean): Promise<void> {
  return new Promise((resolve) => {
    let at = 0;
    const go = () => {
      at += conn.write(bytes.subarray(at));
      if (at < bytes.length) return;
      conn.onWritable = undefined;
      if (end) conn.end();
      resolve();
    };
    conn.onWritable = go;
    go();
  });
}

/** Everything the connection delivers, and the peer's end. */
export function collect(conn: StackConnection): { chunks: Uint8Array[]; ended: Promise<void> } {
  const chunks: Uint8Array[] = [];
  const ended = new Promise<void>((resolve) => {
    conn.onData = (c) => chunks.push(c);
    conn.onEnd = resolve;
  });
  return { chunks, ended };
}

export function connected(conn: StackConnection): Promise<void> {
  return new Promise((resolve) => (conn.onConnect = resolve));
}

export async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 2));
}

/** The first connection a new listener on `port` accepts (the listener closes then). */
export function accepted(stack: Stack, port: number): Promise<StackConnection> {
  return new Promise((resolve) => {
    const l = stack.openListener({ port }, (conn) => {
      l.close();
      resolve(conn);
    });
  });
}

/** An ICMP (RFC 792) or ICMPv6 (RFC 4443 4.1) echo request from `src` to `dst` with a 56-byte payload. */
export function echoRequest(src: Uint8Array, dst: Uint8Array, id = 0xbeef): Uint8Array {
  const v6 = src.length === 16;
  const msg = new Uint8Array(8 + 56);
  msg[0] = v6 ? 128 : 8;
  msg[4] = id >> 8;
  msg[5] = id & 0xff;
  for (let i = 0; i < 56; i++) msg[8 + i] = i;
  const sum = checksumRef(msg, v6 ? pseudoHeaderSumV6Ref(src, dst, 58, msg.length) : 0);
  msg[2] = sum >> 8;
  msg[3] = sum & 0xff;
  return buildPacket({ v6, src, dst, ipProto: v6 ? 58 : 1, payload: msg });
}
