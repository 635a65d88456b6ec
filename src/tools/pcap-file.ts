// The Node half of the pcap writer: a sink that writes the capture to a file. Synchronous writes of
// buffered chunks, so the file is complete the moment `close()` returns (a CLI can exit right after).
import { closeSync, openSync, writeSync } from "node:fs";
import type { PcapSink } from "./pcap.js";
import { validateString } from "../core/validate.js";

const FLUSH_AT = 64 * 1024;

/** A pcap file being written: its sink, and flush and close. */
export interface PcapFile {
  /** The sink to give PcapWriter or recordLink. */
  readonly sink: PcapSink;
  /** Writes buffered chunks to the file now. */
  flush(): void;
  /** Flushes and closes the file; later chunks are ignored. Idempotent. */
  close(): void;
}

/** Creates (or truncates) `path` and returns a sink that writes to it. */
export function openPcapFile(path: string): PcapFile {
  validateString(path, "path");
  let fd: number | undefined = openSync(path, "w");
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  const flush = () => {
    if (fd === undefined || pending.length === 0) return;
    const all = new Uint8Array(pendingBytes);
    let at = 0;
    for (const c of pending) {
      all.set(c, at);
      at += c.length;
    }
    pending = [];
    pendingBytes = 0;
    for (let written = 0; written < all.length; ) written += writeSync(fd, all, written);
  };
  return {
    sink(chunk: Uint8Array): void {
      if (fd === undefined) return;
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= FLUSH_AT) flush();
    },
    flush,
    close(): void {
      if (fd === undefined) return;
      flush();
      closeSync(fd);
      fd = undefined;
    },
  };
}
