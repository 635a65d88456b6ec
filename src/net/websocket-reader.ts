// Reading a `ws` client socket's binary messages straight from its TCP connection.
//
// `ws`'s receiver makes each frame a Writable write, several Buffer views (one per field it
// consumes), a fragments array and an emitted event: at one 1500-byte packet a message, a page
// allocates some 800 bytes and calls through a dozen functions for each packet, and the collections
// of that garbage are a large share of the page's time at a gigabit. A server's frames are never
// masked (RFC 6455 5.1), so a whole binary message in one frame (FIN set, opcode 2, no RSV bits,
// RFC 6455 5.2) is its payload as it stands in the chunk the TCP connection delivered: handed on as
// a view of that chunk, no copy, no object but the view.
//
// Only the common frame is read here. Pings and pongs, complete, are handed to `ws`'s receiver as
// whole frames, which leaves it at a frame boundary as it was (it answers the ping, RFC 6455 5.5.2).
// Anything else (a close frame, text, a fragmented or compressed message, a masked frame, a payload
// longer than the reader takes) gives the connection back to `ws` from that frame on, so that its
// checks and its closing handshake apply as they always did.
// Browser-safe: nothing here is imported from Node; `ws`'s parts are found by their shape.

/** The members of the net.Socket under a `ws` socket that the reader uses. */
interface RawSocket {
  on(type: "data", listener: (chunk: Uint8Array) => void): unknown;
  removeListener(type: "data", listener: (chunk: Uint8Array) => void): unknown;
  listeners(type: "data"): ((chunk: Uint8Array) => void)[];
  pause(): unknown;
}

/** The members of `ws`'s receiver that the reader uses. */
interface Receiver {
  write(chunk: Uint8Array): boolean;
  _bufferedBytes: number;
  _state: number;
  _fragments: unknown[];
  _maxPayload: number;
}

/** FIN set, no RSV bits, opcode 2 (RFC 6455 5.2): a binary message in one frame. */
const FIN_BINARY = 0x82;
const OPCODE_PING = 0x9;
const OPCODE_PONG = 0xa;
/** Longest control frame payload (RFC 6455 5.5). */
const MAX_CONTROL = 125;
/** Longest unmasked header: 2 bytes and a 64-bit length. */
const MAX_HEADER = 10;
/** Longest payload read here; a longer one goes to `ws`, with its maxPayload check. */
const MAX_PAYLOAD = 1 << 20;

/**
 * Reads binary messages from the TCP connection under a `ws` client socket, once it is open, and
 * hands each to `deliver` (a view of the connection's chunk, or for one split across chunks a copy).
 * Returns false, and changes nothing, for any other socket, or when `ws` is in the middle of a frame.
 */
export function readFramesDirectly(socket: object, deliver: (bytes: Uint8Array) => void): boolean {
  const ws = socket as { _isServer?: unknown; _socket?: Partial<RawSocket> | null; _receiver?: Partial<Receiver> | null };
  if (ws._isServer !== false) return false;
  const raw = ws._socket;
  const receiver = ws._receiver;
  if (!raw || typeof raw.on !== "function" || typeof raw.removeListener !== "function" || typeof raw.listeners !== "function" || typeof raw.pause !== "function") return false;
  if (!receiver || typeof receiver.write !== "function" || !Array.isArray(receiver._fragments)) return false;
  // At a frame boundary, holding nothing: what arrives next starts a frame.
  if (receiver._bufferedBytes !== 0 || receiver._state !== 0 || receiver._fragments.length !== 0) return false;
  const own = raw.listeners("data").filter((l) => l.name === "socketOnData");
  if (own.length !== 1) return false;
  new FrameReader(raw as RawSocket, receiver as Receiver, own[0]!, deliver);
  return true;
}

class FrameReader {
  readonly #raw: RawSocket;
  readonly #receiver: Receiver;
  readonly #wsListener: (chunk: Uint8Array) => void;
  readonly #deliver: (bytes: Uint8Array) => void;
  readonly #maxPayload: number;
  /** A header split across chunks: its first bytes. */
  readonly #head = new Uint8Array(MAX_HEADER);
  #headLength = 0;
  /** A frame split across chunks: its header and payload gathered so far, and how many bytes of it are in. */
  #frame: Uint8Array | undefined;
  #frameAt = 0;
  #frameHeader = 0;
  readonly #onData = (chunk: Uint8Array): void => this.#read(chunk);

  constructor(raw: RawSocket, receiver: Receiver, wsListener: (chunk: Uint8Array) => void, deliver: (bytes: Uint8Array) => void) {
    this.#raw = raw;
    this.#receiver = receiver;
    this.#wsListener = wsListener;
    this.#deliver = deliver;
    this.#maxPayload = receiver._maxPayload > 0 ? Math.min(receiver._maxPayload, MAX_PAYLOAD) : MAX_PAYLOAD;
    raw.removeListener("data", wsListener);
    raw.on("data", this.#onData);
  }

  #read(chunk: Uint8Array): void {
    let at = 0;
    const end = chunk.length;
    if (this.#frame) {
      // The rest of a split frame.
      const frame = this.#frame;
      const take = Math.min(frame.length - this.#frameAt, end);
      frame.set(chunk.subarray(0, take), this.#frameAt);
      this.#frameAt += take;
      at = take;
      if (this.#frameAt < frame.length) return;
      this.#frame = undefined;
      this.#complete(frame, this.#frameHeader);
    }
    while (at < end) {
      let headerLength: number;
      let payload: number;
      let first: number;
      if (this.#headLength > 0) {
        // A header split across chunks: gathered in #head until it parses.
        const had = this.#headLength;
        const take = Math.min(MAX_HEADER - had, end - at);
        this.#head.set(chunk.subarray(at, at + take), had);
        this.#headLength = had + take;
        headerLength = headerBytes(this.#head, 0, this.#headLength);
        if (headerLength === 0) return;
        if (headerLength < 0) return this.#giveBack(this.#head.subarray(0, had), chunk.subarray(at));
        payload = payloadLength(this.#head, 0);
        first = this.#head[0]!;
        this.#headLength = 0;
        at += headerLength - had;
        if (!this.#takes(first, payload)) return this.#giveBack(this.#head.subarray(0, had), chunk.subarray(at - (headerLength - had)));
        // The payload (all of it in later chunks, or part here): gathered with the header before it.
        const frame = new Uint8Array(headerLength + payload);
        frame.set(this.#head.subarray(0, headerLength));
        this.#startFrame(frame, headerLength, chunk, at);
        at += Math.min(payload, end - at);
        if (this.#frame) return;
        continue;
      }
      headerLength = headerBytes(chunk, at, end);
      if (headerLength === 0) {
        this.#head.set(chunk.subarray(at, end));
        this.#headLength = end - at;
        return;
      }
      if (headerLength < 0) return this.#giveBack(undefined, chunk.subarray(at));
      payload = payloadLength(chunk, at);
      first = chunk[at]!;
      if (!this.#takes(first, payload)) return this.#giveBack(undefined, chunk.subarray(at));
      const start = at + headerLength;
      if (end - start >= payload) {
        // The common case: the whole frame in this chunk.
        // A plain Uint8Array view: a Buffer's subarray would construct a Buffer, a subclass, for each.
        if (first === FIN_BINARY) this.#deliver(new Uint8Array(chunk.buffer, chunk.byteOffset + start, payload));
        else this.#control(chunk.subarray(at, start + payload));
        at = start + payload;
        continue;
      }
      const frame = new Uint8Array(headerLength + payload);
      frame.set(chunk.subarray(at, start));
      this.#startFrame(frame, headerLength, chunk, start);
      return;
    }
  }

  /** Whether a frame with first byte `first` and `payload` bytes is read here (else `ws` takes over). */
  #takes(first: number, payload: number): boolean {
    if (first === FIN_BINARY) return payload <= this.#maxPayload;
    const opcode = first & 0x0f;
    // A control frame is never fragmented and holds at most 125 bytes (RFC 6455 5.5).
    return (first & 0xf0) === 0x80 && (opcode === OPCODE_PING || opcode === OPCODE_PONG) && payload <= MAX_CONTROL;
  }

  /** Copies the frame's bytes at `chunk[from]` on into `frame` (its header already there); keeps it for the next chunks if short. */
  #startFrame(frame: Uint8Array, headerLength: number, chunk: Uint8Array, from: number): void {
    const take = Math.min(frame.length - headerLength, chunk.length - from);
    frame.set(chunk.subarray(from, from + take), headerLength);
    if (headerLength + take < frame.length) {
      this.#frame = frame;
      this.#frameAt = headerLength + take;
      this.#frameHeader = headerLength;
      return;
    }
    this.#complete(frame, headerLength);
  }

  /** A frame gathered across chunks. */
  #complete(frame: Uint8Array, headerLength: number): void {
    if (frame[0] === FIN_BINARY) this.#deliver(frame.subarray(headerLength));
    else this.#control(frame);
  }

  /** A whole ping or pong frame: to `ws`'s receiver, which is at a frame boundary and answers it. */
  #control(frame: Uint8Array): void {
    if (!this.#receiver.write(frame)) this.#raw.pause();
  }

  /** Hands the connection back to `ws` from the frame starting in `head` (bytes held back) and `rest`. */
  #giveBack(head: Uint8Array | undefined, rest: Uint8Array): void {
    this.#headLength = 0;
    const raw = this.#raw;
    raw.removeListener("data", this.#onData);
    raw.on("data", this.#wsListener);
    let more = true;
    if (head && head.length > 0) more = this.#receiver.write(head.slice());
    if (rest.length > 0) more = this.#receiver.write(rest) && more;
    if (!more) raw.pause();
  }
}

/**
 * Bytes of the frame header at `b[at]` (RFC 6455 5.2), 0 if `end` comes first, -1 for a masked
 * frame (a server's must not be, RFC 6455 5.1) or a length past 32 bits: `ws` deals with those.
 */
function headerBytes(b: Uint8Array, at: number, end: number): number {
  if (end - at < 2) return 0;
  const second = b[at + 1]!;
  if (second & 0x80) return -1;
  const len = second & 0x7f;
  if (len < 126) return 2;
  if (len === 126) return end - at < 4 ? 0 : 4;
  if (end - at < MAX_HEADER) return 0;
  return b[at + 2]! | b[at + 3]! | b[at + 4]! | b[at + 5]! ? -1 : MAX_HEADER;
}

/** The payload length in the complete header at `b[at]`. */
function payloadLength(b: Uint8Array, at: number): number {
  const len = b[at + 1]! & 0x7f;
  if (len < 126) return len;
  if (len === 126) return (b[at + 2]! << 8) | b[at + 3]!;
  return ((b[at + 6]! << 24) | (b[at + 7]! << 16) | (b[at + 8]! << 8) | b[at + 9]!) >>> 0;
}
