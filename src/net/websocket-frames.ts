// Several WebSocket messages in one write to the TCP connection under a `ws` server-side socket.
//
// `ws` turns each send() into two writes on its net.Socket (the frame header and the payload), each
// passing through the Writable machinery with its own callback record; corked or not, that is a
// fixed cost per message which, at one 1500-byte packet a message, a relay pays more than the bytes
// themselves. A server's frames are never masked (RFC 6455 5.1), so a drain's whole batch can be laid
// out as frames in one buffer (the copy a link makes of the packets anyway) and written at once.
//
// Only where that is safe: a `ws` socket on the server side whose sender has nothing queued and no
// fragmented message open (its own frames, pings, pongs and the close frame, are written straight to
// the same net.Socket in call order, so ours stay in order with them), and only while it is OPEN (the
// caller checks: nothing may follow a close frame, RFC 6455 5.5.1). Bytes written this way count in
// `ws`'s bufferedAmount, which reads the net.Socket's buffer. Anything else (a browser's WebSocket, a
// `ws` client, whose frames must be masked) is sent message by message.
// Browser-safe: nothing here is imported from Node; the raw socket is found by its shape.

/** The members of the net.Socket under a `ws` socket that a frame writer uses. */
interface RawSocket {
  write(chunk: Uint8Array, done: () => void): boolean;
}

/** Writes whole frames to the TCP connection under a WebSocket. */
export interface FrameWriter {
  /** Whether frames may be written directly now (the socket's own sender has nothing pending). */
  ready(): boolean;
  /** Writes `bytes`, complete frames (writeFrameHeader); `done` once they are handed to the kernel (or failed), when the memory may be reused. */
  write(bytes: Uint8Array, done: () => void): void;
}

/** FIN and the binary opcode (RFC 6455 5.2): a whole message in one frame. */
const FIN_BINARY = 0x82;

/** Bytes of the unmasked frame header for a payload of `n` bytes (RFC 6455 5.2: 7-bit, 16-bit or 64-bit length). */
export function frameHeaderLength(n: number): number {
  return n < 126 ? 2 : n < 65536 ? 4 : 10;
}

/** Writes the unmasked header of a binary frame carrying `n` bytes at `out[at]`; returns where the payload starts. */
export function writeFrameHeader(out: Uint8Array, at: number, n: number): number {
  out[at] = FIN_BINARY;
  if (n < 126) {
    out[at + 1] = n;
    return at + 2;
  }
  if (n < 65536) {
    out[at + 1] = 126;
    out[at + 2] = n >>> 8;
    out[at + 3] = n & 0xff;
    return at + 4;
  }
  // A 64-bit length whose top 32 bits are zero: no message here reaches 4 GiB.
  out[at + 1] = 127;
  out.fill(0, at + 2, at + 6);
  out[at + 6] = n >>> 24;
  out[at + 7] = (n >>> 16) & 0xff;
  out[at + 8] = (n >>> 8) & 0xff;
  out[at + 9] = n & 0xff;
  return at + 10;
}

/**
 * A frame writer for `socket` when it is a `ws` WebSocket on the server side with its net.Socket
 * at hand; undefined for anything else.
 */
export function frameWriter(socket: object): FrameWriter | undefined {
  const ws = socket as { _isServer?: unknown; _socket?: Partial<RawSocket> | null; _sender?: { _queue?: unknown; _state?: unknown; _firstFragment?: unknown } | null };
  if (ws._isServer !== true) return undefined;
  const raw = ws._socket;
  const sender = ws._sender;
  if (!raw || typeof raw.write !== "function" || !sender || !Array.isArray(sender._queue) || typeof sender._state !== "number") return undefined;
  const queue = (): unknown[] => sender._queue as unknown[];
  return {
    // _state 0 is the sender's idle state (not compressing, not reading a Blob); _firstFragment false
    // would mean a message sent in fragments is still open.
    ready: () => queue().length === 0 && sender._state === 0 && sender._firstFragment !== false,
    write: (bytes, done) => void (raw as RawSocket).write(bytes, done),
  };
}
