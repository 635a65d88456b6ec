// A link over a WebSocket: one binary message carries one raw IP packet (or one Ethernet frame on an
// Ethernet link), both ways. What a page uses to reach `tcpwasm relay`'s packet mode, and what a
// server hands each accepted `ws` socket to. Browser-safe: it speaks to the WHATWG WebSocket
// interface (addEventListener, send, bufferedAmount), which both the browser's WebSocket and the `ws`
// package implement; tcpwasm/node supplies `ws` as the constructor where Node has no global one.
//
// Sends: the stack hands over each drain's packets in one array and they are written at once, one
// message each; nothing waits for a later task. On a `ws` server-side socket (a relay's) the batch's
// frames are laid out in one buffer and written to the TCP connection with one write
// (websocket-frames.ts); that copy is the only one, so such a link copies on send (Link.copiesOnSend)
// and the stack lends it its output region instead of copying each packet out first. Backpressure: the socket's bufferedAmount is the
// queue; once it holds maxBufferedBytes, further packets are dropped and counted, as a full NIC ring
// drops them, and TCP's loss recovery slows the sender (a queue that grew without bound would only
// add delay). While the socket is still connecting (or reconnecting) packets wait in a queue bounded
// by the same byte budget.
//
// Receives: messages that are not binary, empty, or larger than the MTU (plus 14 bytes of Ethernet
// header on an Ethernet link) are counted and dropped, never thrown out of the socket's callback.
// Messages arriving in one turn of the event loop reach the stack as one batch. On a `ws` client
// socket the link opened, binary frames are read from its TCP connection directly
// (websocket-reader.ts), without `ws`'s per-message objects.
//
// Batched framing (opt-in, `batch: true`): the link offers the WebSocket subprotocol
// BATCH_PROTOCOL (RFC 6455 1.9); when the server selects it, each binary message carries several
// packets, each a 4-byte big-endian length and the packet's bytes, up to BATCH_MESSAGE_BYTES a
// message. Every message then costs its fixed share (a frame, an event, in a browser a task) once
// per batch instead of once per packet. A server that selects another subprotocol leaves the link at
// one packet per message (one that selects none does too in a browser; `ws`'s client refuses such a
// handshake when it offered any). `tcpwasm relay` selects it in packet mode. A socket handed over (a
// server's) batches when its negotiated protocol is BATCH_PROTOCOL.
import { TcpwasmError } from "../core/errors.js";
import { invalidType, invalidValue, optionsObject, validateArray, validateBoolean, validateFunction, validateInteger, validateKnownKeys, validateOneOf, validateUint8Array } from "../core/validate.js";
import { DEFAULT_MTU, MIN_LINK_MTU, type Link, type PacketHandler, type ReceiveOptions } from "./link.js";
import { frameHeaderLength, frameWriter, writeFrameHeader, type FrameWriter } from "./websocket-frames.js";
import { readFramesDirectly } from "./websocket-reader.js";

/** The WHATWG WebSocket members the link uses: a browser WebSocket and a `ws` WebSocket both have them. */
export interface WebSocketLike {
  /** "arraybuffer" (browsers) or "nodebuffer" (`ws`); the link sets "arraybuffer" when it finds "blob". */
  binaryType: string;
  /** 0 CONNECTING, 1 OPEN, 2 CLOSING, 3 CLOSED. */
  readonly readyState: number;
  /** Bytes handed to send and not yet written to the network. */
  readonly bufferedAmount: number;
  /** The subprotocol the server selected ("" for none). */
  readonly protocol?: string;
  /**
   * Sends one message (binary for a Uint8Array). `ws` calls `written` once the bytes are handed to
   * the network (or failed); a browser ignores it (it has copied the bytes by the time send returns).
   */
  send(data: Uint8Array, written?: (err?: Error) => void): void;
  /** Starts the closing handshake. */
  close(code?: number, reason?: string): void;
  /** Adds an event listener ("open", "message", "close", "error"); the event is typed loosely because the DOM's and `ws`'s declarations differ. */
  addEventListener(type: "open" | "message" | "close" | "error", listener: (event: any) => void): void;
  /** Removes an event listener added with addEventListener. */
  removeEventListener(type: "open" | "message" | "close" | "error", listener: (event: any) => void): void;
}

/** A WebSocket constructor: the global one in browsers and Node >= 22, or `ws`'s WebSocket. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** Reconnection of a link opened from a URL: exponential back-off between attempts. */
export interface WebSocketReconnectOptions {
  /** Wait before the first attempt, ms. Default 250. */
  initialDelayMs?: number;
  /** Longest wait between attempts, ms (the delay doubles up to it). Default 30000. */
  maxDelayMs?: number;
  /** Attempts after a close before the link gives up and closes for good. Default: unlimited. */
  maxAttempts?: number;
}

/** Options of createWebSocketLink. */
export interface WebSocketLinkOptions {
  /** What each message is: "ip" (default) a raw IP packet, "ethernet" an Ethernet II frame without FCS. */
  framing?: "ip" | "ethernet";
  /** The link's IP MTU, 576..65535. Default 1500. */
  mtu?: number;
  /** Bytes the socket may hold unsent (and the queue while connecting) before packets are dropped. Default 1 MiB. */
  maxBufferedBytes?: number;
  /** URL targets only: reopen after the socket closes, with back-off (true: the defaults). Default false. */
  reconnect?: boolean | WebSocketReconnectOptions;
  /** URL targets only: the subprotocols offered. */
  protocols?: string | string[];
  /**
   * URL targets only: offer batched framing (BATCH_PROTOCOL, several packets a message), used if the
   * server selects it (`tcpwasm relay` does in packet mode). Default false: one packet per message.
   */
  batch?: boolean;
  /** URL targets only: the WebSocket constructor. Default: the global WebSocket (tcpwasm/node: `ws`'s). */
  WebSocket?: WebSocketConstructor;
}

/** What a WebSocket link carried, dropped and went through. */
export interface WebSocketLinkStats {
  /** Packets written to the socket. */
  sent: number;
  /** Bytes of those packets. */
  bytesSent: number;
  /** Packets received and handed to the stack. */
  received: number;
  /** Bytes of those packets. */
  bytesReceived: number;
  /** Packets dropped because maxBufferedBytes were already queued (or the link was not open and the queue full). */
  dropped: number;
  /** Packets over the MTU, either way: dropped. */
  tooBig: number;
  /** Text messages (and Blobs) received: dropped. */
  notBinary: number;
  /** Empty binary messages (or empty records of a batch) received: dropped. */
  empty: number;
  /** Batched framing: messages whose records did not add up (a length past the end); their remaining bytes dropped. */
  malformed: number;
  /** Times a URL link reopened after a close. */
  reconnects: number;
}

/** How a WebSocket link's socket closed. */
export interface WebSocketLinkCloseInfo {
  /** The WebSocket close code (1000 normal, 1006 the connection was lost without a close frame). */
  code: number;
  /** The close reason the peer gave. */
  reason: string;
  /** Whether the link will try to reopen (reconnect option); false means it is closed for good. */
  reconnecting: boolean;
}

/** The life of a WebSocket link. */
export type WebSocketLinkState = "connecting" | "open" | "reconnecting" | "closed";

const CONNECTING = 0;
const OPEN = 1;
const ETHERNET_HEADER = 14;
const DEFAULT_MAX_BUFFERED = 1 << 20;
const OPTIONS: ReadonlySet<string> = new Set(["framing", "mtu", "maxBufferedBytes", "reconnect", "protocols", "batch", "WebSocket"]);

/** The WebSocket subprotocol of batched framing: several length-prefixed packets per binary message. */
export const BATCH_PROTOCOL = "tcpwasm.batch";
/** Bytes of a batched record's length prefix (big-endian, so any packet or frame up to 65535 + 14 fits). */
const RECORD_HEADER = 4;
/**
 * Most bytes a batched message holds (a record larger than this goes alone). 64 KiB keeps each
 * message well under a relay's message limit (1 MiB by default) while a batch of 1500-byte packets
 * still shares one message among about 40 of them.
 */
export const BATCH_MESSAGE_BYTES = 64 * 1024;
/** Encoding buffers kept for reuse: a drain of a 256 KiB send ring fills about four. */
const MAX_SPARE = 8;
/**
 * Frame buffers kept for reuse (each the size of the largest batch it carried): a bulk sender has
 * one being written while it fills the next; an idle client keeps a small one.
 */
const MAX_FRAME_SPARE = 2;
/** Frame buffers grow in steps of this many bytes, so that a spare fits the next batches of about the same size. */
const FRAME_BUFFER_STEP = 16 * 1024;
const RECONNECT_OPTIONS: ReadonlySet<string> = new Set(["initialDelayMs", "maxDelayMs", "maxAttempts"]);

type Timer = ReturnType<typeof setTimeout>;

/** Runs `fn` after the current turn: setImmediate in Node (gathers every message of one socket read), a microtask elsewhere. */
function afterTurn(fn: () => void): void {
  const g = globalThis as { setImmediate?: (fn: () => void) => unknown };
  if (g.setImmediate) g.setImmediate(fn);
  else queueMicrotask(fn);
}

/** The bytes of a binary message, or undefined for a text message or a Blob. */
function messageBytes(data: unknown): Uint8Array | undefined {
  // A `ws` message is a Buffer, a Uint8Array already: handed on as it is, no view made per message.
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return undefined;
}

/** Writes packets `from` to `to` into `out` from `at` as batched records: a 4-byte big-endian length before each. */
function encodeRecords(packets: Uint8Array[], from: number, to: number, out: Uint8Array, at = 0): void {
  for (let i = from; i < to; i++) {
    const p = packets[i]!;
    const n = p.length;
    out[at] = n >>> 24;
    out[at + 1] = (n >>> 16) & 0xff;
    out[at + 2] = (n >>> 8) & 0xff;
    out[at + 3] = n & 0xff;
    out.set(p, at + RECORD_HEADER);
    at += RECORD_HEADER + n;
  }
}

/** The `ws` package's (data, isBinary) message emitter of a socket, or undefined for a WHATWG-only WebSocket. */
interface WsEmitter {
  on(type: "message", listener: (data: unknown, isBinary: boolean) => void): unknown;
  off(type: "message", listener: (data: unknown, isBinary: boolean) => void): unknown;
}

function wsEmitter(socket: WebSocketLike): WsEmitter | undefined {
  // `ws` (8 and later) is an EventEmitter with terminate(); a browser's or undici's WebSocket is an
  // EventTarget without either.
  const s = socket as unknown as Partial<WsEmitter> & { terminate?: unknown };
  return typeof s.on === "function" && typeof s.off === "function" && typeof s.terminate === "function" ? (s as WsEmitter) : undefined;
}

function isWebSocketLike(value: unknown): value is WebSocketLike {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.send === "function" && typeof v.close === "function" && typeof v.addEventListener === "function" && typeof v.readyState === "number";
}

interface Backoff {
  initialDelayMs: number;
  maxDelayMs: number;
  maxAttempts: number;
}

function reconnectOptions(value: boolean | WebSocketReconnectOptions | undefined): Backoff | undefined {
  if (value === undefined || value === false) return undefined;
  const o = value === true ? {} : optionsObject(value, "options.reconnect");
  if (value !== true) validateKnownKeys(o as Record<string, unknown>, "options.reconnect", RECONNECT_OPTIONS);
  const initialDelayMs = o.initialDelayMs ?? 250;
  const maxDelayMs = o.maxDelayMs ?? 30_000;
  const maxAttempts = o.maxAttempts ?? Infinity;
  validateInteger(initialDelayMs, "options.reconnect.initialDelayMs", 0, 3_600_000);
  validateInteger(maxDelayMs, "options.reconnect.maxDelayMs", initialDelayMs, 3_600_000);
  if (maxAttempts !== Infinity) validateInteger(maxAttempts, "options.reconnect.maxAttempts", 1);
  return { initialDelayMs, maxDelayMs, maxAttempts };
}

/** A link carrying one packet (or frame) per binary WebSocket message. Made by createWebSocketLink. */
export class WebSocketLink implements Link {
  /** The IP MTU (WebSocketLinkOptions.mtu). */
  readonly mtu: number;
  /** Raw IP packets or Ethernet II frames. */
  readonly framing: "ip" | "ethernet";
  /**
   * True on a `ws` server-side socket, whose batches are written as frames laid out in one buffer:
   * send copies the packets before it returns (Link.copiesOnSend), on every path.
   */
  readonly copiesOnSend: boolean;
  /** What the link carried and dropped. */
  readonly stats: WebSocketLinkStats = { sent: 0, bytesSent: 0, received: 0, bytesReceived: 0, dropped: 0, tooBig: 0, notBinary: 0, empty: 0, malformed: 0, reconnects: 0 };
  readonly #maxMessage: number;
  readonly #maxBuffered: number;
  readonly #open: (() => WebSocketLike) | undefined;
  readonly #backoff: Backoff | undefined;
  #socket!: WebSocketLike;
  #state: WebSocketLinkState = "connecting";
  #handler: PacketHandler | undefined;
  #onOpen: (() => void) | undefined;
  #onClose: ((info: WebSocketLinkCloseInfo) => void) | undefined;
  #onError: ((err: TcpwasmError) => void) | undefined;
  #incoming: Uint8Array[] = [];
  /** The last batch array, emptied, when the handler copies (ReceiveOptions.copies). */
  #spareIncoming: Uint8Array[] = [];
  #handlerCopies = false;
  #flushScheduled = false;
  // Packets given while the socket is not open yet, and their bytes.
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #batching = false;
  /** Batched framing: encoding buffers (BATCH_MESSAGE_BYTES each) `ws` has finished writing, for the next batches. */
  #spare: Uint8Array[] = [];
  /** Direct frame writes to the socket's TCP connection (a given `ws` server-side socket), else undefined. */
  readonly #frames: FrameWriter | undefined;
  /** Frame buffers the TCP connection has finished writing, for the next batches. */
  #frameSpare: Uint8Array[] = [];
  #attempts = 0;
  #everOpened = false;
  #retryTimer: Timer | undefined;
  #detach: (() => void) | undefined;
  #resolveOpened!: () => void;
  #rejectOpened!: (err: TcpwasmError) => void;
  /** Settles when the socket first opens; rejects if the link closes (or its first socket fails without reconnect) before that. */
  readonly opened: Promise<void>;

  /** @internal Use createWebSocketLink. */
  constructor(socket: WebSocketLike | undefined, open: (() => WebSocketLike) | undefined, framing: "ip" | "ethernet", mtu: number, maxBuffered: number, backoff: Backoff | undefined) {
    this.framing = framing;
    this.mtu = mtu;
    this.#maxMessage = mtu + (framing === "ethernet" ? ETHERNET_HEADER : 0);
    this.#maxBuffered = maxBuffered;
    this.#open = open;
    this.#backoff = backoff;
    this.opened = new Promise<void>((resolve, reject) => {
      this.#resolveOpened = resolve;
      this.#rejectOpened = reject;
    });
    // The promise is there to be awaited; a link nobody awaits must not report an unhandled rejection.
    this.opened.catch(() => {});
    // Only a given socket: a URL link's sockets are clients, whose frames must be masked.
    this.#frames = socket ? frameWriter(socket) : undefined;
    this.copiesOnSend = this.#frames !== undefined;
    this.#use(socket ?? open!());
  }

  /** connecting, open, reconnecting (waiting to reopen) or closed. */
  get state(): WebSocketLinkState {
    return this.#state;
  }

  /**
   * The socket in use now (a new one after each reconnection). On a `ws` socket the link opened (a
   * URL target), binary messages are read by the link from the connection and not emitted as events.
   */
  get socket(): WebSocketLike {
    return this.#socket;
  }

  /**
   * Sends each packet as one binary message. Over the MTU: dropped, counted in `tooBig`; the socket
   * already holding maxBufferedBytes: dropped, counted in `dropped`. After close: dropped silently.
   * @throws TcpwasmError ERR_INVALID_ARG_TYPE unless `packets` is an array of Uint8Array.
   */
  send(packets: Uint8Array[]): void {
    validateArray(packets, "packets", validateUint8Array);
    if (this.#state === "closed") return;
    const socket = this.#socket;
    const open = this.#state === "open" && socket.readyState === OPEN;
    let buffered = open ? socket.bufferedAmount : this.#pendingBytes;
    let batch: Uint8Array[] | undefined;
    for (const p of packets) {
      if (p.length > this.#maxMessage) {
        this.stats.tooBig++;
        continue;
      }
      if (buffered + p.length > this.#maxBuffered) {
        this.stats.dropped++;
        continue;
      }
      buffered += p.length;
      if (open) (batch ??= []).push(p);
      else {
        this.#pending.push(this.copiesOnSend ? p.slice() : p);
        this.#pendingBytes += p.length;
      }
    }
    if (batch) this.#writeAll(socket, batch);
  }

  /** Whether the server selected batched framing (BATCH_PROTOCOL) for the socket in use. */
  get batching(): boolean {
    return this.#batching;
  }

  /** Sets the one handler of incoming packets. */
  onReceive(handler: PacketHandler, options?: ReceiveOptions): void {
    validateFunction(handler, "handler");
    this.#handler = handler;
    this.#handlerCopies = options?.copies === true;
  }

  /** Called each time the socket opens (again, after a reconnection). */
  onOpen(handler: () => void): void {
    validateFunction(handler, "handler");
    this.#onOpen = handler;
  }

  /** Called each time the socket closes, with whether the link will reopen it. */
  onClose(handler: (info: WebSocketLinkCloseInfo) => void): void {
    validateFunction(handler, "handler");
    this.#onClose = handler;
  }

  /** Called when the socket fails: ECONNREFUSED if it never opened, ECONNRESET if an open one was lost. */
  onError(handler: (err: TcpwasmError) => void): void {
    validateFunction(handler, "handler");
    this.#onError = handler;
  }

  /** Closes the socket (code 1000) and stops reconnecting; queued packets are discarded. Idempotent. */
  close(): void {
    if (this.#state === "closed") return;
    this.#finish();
    try {
      this.#socket.close(1000);
    } catch {
      // A socket that is already closing has nothing more to do.
    }
    this.#rejectOpened(new TcpwasmError("ECONNRESET", "websocket link: closed before it opened"));
  }

  #finish(): void {
    this.#state = "closed";
    this.#handler = undefined;
    this.#incoming = [];
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#frameSpare = [];
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
  }

  /** Writes packets in order: one message each, or records of batched messages. */
  #writeAll(socket: WebSocketLike, packets: Uint8Array[]): void {
    if (this.#frames?.ready()) {
      this.#writeFrames(this.#frames, packets);
      return;
    }
    // A `ws` socket writes each message with its own system call unless its TCP socket is corked:
    // corked for the batch, the drain's messages leave in one writev (a browser batches by itself).
    const raw = packets.length > 1 ? (socket as { _socket?: { cork?: () => void; uncork?: () => void } })._socket : undefined;
    const cork = typeof raw?.cork === "function" && typeof raw.uncork === "function" ? raw : undefined;
    cork?.cork!();
    if (!this.#batching) for (const p of packets) this.#write(socket, this.copiesOnSend ? p.slice() : p, p, 1);
    else {
      let first = 0;
      let bytes = 0;
      for (let i = 0; i < packets.length; i++) {
        const size = RECORD_HEADER + packets[i]!.length;
        if (i > first && bytes + size > BATCH_MESSAGE_BYTES) {
          this.#writeRecords(socket, packets, first, i, bytes);
          first = i;
          bytes = 0;
        }
        bytes += size;
      }
      this.#writeRecords(socket, packets, first, packets.length, bytes);
    }
    cork?.uncork!();
  }

  /**
   * Lays out the packets as frames in one buffer, one message each or batched messages of records
   * (grouped as #writeAll groups them), and writes it to the TCP connection at once.
   */
  #writeFrames(frames: FrameWriter, packets: Uint8Array[]): void {
    let total = 0;
    let bytesSent = 0;
    // Batched: where each message starts (its first packet) and its payload length.
    const starts: number[] = [];
    const sizes: number[] = [];
    if (!this.#batching) {
      for (const p of packets) {
        total += frameHeaderLength(p.length) + p.length;
        bytesSent += p.length;
      }
    } else {
      let bytes = 0;
      for (let i = 0; i < packets.length; i++) {
        const size = RECORD_HEADER + packets[i]!.length;
        if (i > 0 && bytes + size > BATCH_MESSAGE_BYTES) {
          sizes.push(bytes);
          total += frameHeaderLength(bytes) + bytes;
          bytes = 0;
        }
        if (bytes === 0) starts.push(i);
        bytes += size;
        bytesSent += packets[i]!.length;
      }
      sizes.push(bytes);
      total += frameHeaderLength(bytes) + bytes;
    }
    const buffer = this.#frameBuffer(total);
    const out = buffer.subarray(0, total);
    let at = 0;
    if (!this.#batching) {
      for (const p of packets) {
        at = writeFrameHeader(out, at, p.length);
        out.set(p, at);
        at += p.length;
      }
    } else {
      for (let m = 0; m < starts.length; m++) {
        at = writeFrameHeader(out, at, sizes[m]!);
        encodeRecords(packets, starts[m]!, m + 1 < starts.length ? starts[m + 1]! : packets.length, out, at);
        at += sizes[m]!;
      }
    }
    try {
      // Once written, the buffer serves a later batch: a bulk transfer then allocates nothing per
      // batch (each allocation is memory outside the JS heap that brings the next full collection closer).
      frames.write(out, () => void (this.#frameSpare.length < MAX_FRAME_SPARE && this.#frameSpare.push(buffer)));
    } catch {
      // A connection that closed under us (its close event is on its way) takes nothing more.
      this.stats.dropped += packets.length;
      return;
    }
    this.stats.sent += packets.length;
    this.stats.bytesSent += bytesSent;
  }

  /** A buffer of at least `bytes` for #writeFrames: a spare one that fits, or a new one rounded up to FRAME_BUFFER_STEP. */
  #frameBuffer(bytes: number): Uint8Array {
    const spare = this.#frameSpare.pop();
    if (spare && spare.length >= bytes) return spare;
    return new Uint8Array(Math.ceil(bytes / FRAME_BUFFER_STEP) * FRAME_BUFFER_STEP);
  }

  /**
   * Sends packets `from` to `to` (`bytes` with their headers) as one batched message, encoded into a
   * BATCH_MESSAGE_BYTES buffer that comes back for later batches once `ws` reports the message
   * written (a browser never reports it, and copies at send, so there each message has its own).
   */
  #writeRecords(socket: WebSocketLike, packets: Uint8Array[], from: number, to: number, bytes: number): void {
    const buf = bytes > BATCH_MESSAGE_BYTES ? new Uint8Array(bytes) : (this.#spare.pop() ?? new Uint8Array(BATCH_MESSAGE_BYTES));
    encodeRecords(packets, from, to, buf);
    const reuse = buf.length === BATCH_MESSAGE_BYTES ? () => void (this.#spare.length < MAX_SPARE && this.#spare.push(buf)) : undefined;
    this.#write(socket, buf.subarray(0, bytes), packets, to - from, from, reuse);
  }

  /** Sends one message holding `count` packets (from `packets[from]`, or the one packet `carried`). */
  #write(socket: WebSocketLike, message: Uint8Array, carried: Uint8Array | Uint8Array[], count: number, from = 0, written?: () => void): void {
    try {
      if (written) socket.send(message, written);
      else socket.send(message);
    } catch {
      // A socket that closed under us (its close event is on its way) takes nothing more.
      this.stats.dropped += count;
      return;
    }
    this.stats.sent += count;
    if (carried instanceof Uint8Array) this.stats.bytesSent += carried.length;
    else for (let i = from; i < from + count; i++) this.stats.bytesSent += carried[i]!.length;
  }

  #use(socket: WebSocketLike): void {
    this.#detach?.();
    this.#socket = socket;
    if (socket.binaryType === "blob" || socket.binaryType === "fragments") socket.binaryType = socket.binaryType === "blob" ? "arraybuffer" : "nodebuffer";
    const onOpen = () => this.#opened();
    const onMessage = (event: { data: unknown }) => this.#message(event.data);
    const onClose = (event: { code: number; reason: string }) => this.#closed(socket, event.code, String(event.reason ?? ""));
    const onError = () => {
      // The close event follows and carries the outcome; an error alone says nothing more.
    };
    // A `ws` socket's own emitter hands over each message as (data, isBinary): listened to there,
    // no MessageEvent is built per message, which at one packet per message is a per-packet
    // allocation (and its share of the collections) for nothing.
    const emitter = wsEmitter(socket);
    const onWsMessage = (data: unknown, isBinary: boolean) => (isBinary ? this.#message(data) : this.#message(undefined));
    socket.addEventListener("open", onOpen);
    if (emitter) emitter.on("message", onWsMessage);
    else socket.addEventListener("message", onMessage);
    socket.addEventListener("close", onClose);
    socket.addEventListener("error", onError);
    this.#detach = () => {
      socket.removeEventListener("open", onOpen);
      if (emitter) emitter.off("message", onWsMessage);
      else socket.removeEventListener("message", onMessage);
      socket.removeEventListener("close", onClose);
      socket.removeEventListener("error", onError);
    };
    if (socket.readyState === OPEN) afterTurn(() => this.#socket === socket && this.#state === "connecting" && this.#opened());
  }

  #opened(): void {
    if (this.#state === "closed") return;
    if (this.#everOpened) this.stats.reconnects++;
    this.#everOpened = true;
    this.#attempts = 0;
    this.#state = "open";
    // The handshake's outcome: batched only if the server selected the subprotocol.
    this.#batching = this.#socket.protocol === BATCH_PROTOCOL;
    // A `ws` client's messages read from its TCP connection as they stand (websocket-reader.ts):
    // no per-message objects of `ws`'s receiver, no event.
    const socket = this.#socket;
    // Only a socket the link opened itself: on one handed over, the caller may listen for messages too.
    if (this.#open) readFramesDirectly(socket, (bytes) => this.#socket === socket && this.#message(bytes));
    const pending = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    if (pending.length) this.#writeAll(this.#socket, pending);
    this.#resolveOpened();
    this.#onOpen?.();
  }

  #message(data: unknown): void {
    if (this.#state === "closed") return;
    const bytes = messageBytes(data);
    if (!bytes) {
      this.stats.notBinary++;
      return;
    }
    if (bytes.length === 0) {
      this.stats.empty++;
      return;
    }
    if (this.#batching) this.#records(bytes);
    else this.#take(bytes);
  }

  /** Splits a batched message into its packets (views, no copy); a length past the end drops the rest. */
  #records(bytes: Uint8Array): void {
    let at = 0;
    while (at < bytes.length) {
      if (bytes.length - at < RECORD_HEADER) {
        this.stats.malformed++;
        return;
      }
      const n = ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
      at += RECORD_HEADER;
      if (n > bytes.length - at) {
        this.stats.malformed++;
        return;
      }
      if (n === 0) this.stats.empty++;
      else this.#take(bytes.subarray(at, at + n));
      at += n;
    }
  }

  /** One received packet: checked against the MTU and queued for this turn's batch. */
  #take(bytes: Uint8Array): void {
    if (bytes.length > this.#maxMessage) {
      this.stats.tooBig++;
      return;
    }
    this.stats.received++;
    this.stats.bytesReceived += bytes.length;
    this.#incoming.push(bytes);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      afterTurn(() => this.#deliver());
    }
  }

  #deliver(): void {
    this.#flushScheduled = false;
    const batch = this.#incoming;
    const handler = this.#handler;
    const copies = this.#handlerCopies;
    // A handler that copies during the call (a stack) leaves the array to the link: the next turn's
    // packets go in it again, instead of a new array grown to a hundred entries each turn.
    this.#incoming = copies ? this.#spareIncoming : [];
    if (batch.length && handler && this.#state !== "closed") handler(batch);
    if (copies) {
      batch.length = 0;
      this.#spareIncoming = batch;
    }
  }

  #closed(socket: WebSocketLike, code: number, reason: string): void {
    if (socket !== this.#socket || this.#state === "closed") return;
    const wasOpen = this.#state === "open";
    const backoff = this.#backoff;
    const reconnecting = backoff !== undefined && this.#attempts < backoff.maxAttempts;
    // 1000 normal, 1001 going away, 1005 a close frame without a code (RFC 6455 7.4.1): no failure.
    if (code !== 1000 && code !== 1001 && code !== 1005) {
      const err = wasOpen
        ? new TcpwasmError("ECONNRESET", `websocket link: connection lost (close code ${code}${reason ? `, ${reason}` : ""})`)
        : new TcpwasmError("ECONNREFUSED", `websocket link: could not open (close code ${code}${reason ? `, ${reason}` : ""})`);
      if (!this.#everOpened && !reconnecting) this.#rejectOpened(err);
      this.#onError?.(err);
    }
    if (!reconnecting) {
      this.#finish();
      this.#detach?.();
      this.#rejectOpened(new TcpwasmError("ECONNRESET", `websocket link: closed before it opened (close code ${code})`));
      this.#onClose?.({ code, reason, reconnecting: false });
      return;
    }
    this.#state = "reconnecting";
    // Exponential back-off (doubling from initialDelayMs, capped at maxDelayMs), so a relay that is
    // down is not hammered by every page that was using it.
    const delay = Math.min(backoff.maxDelayMs, backoff.initialDelayMs * 2 ** this.#attempts);
    this.#attempts++;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (this.#state !== "reconnecting") return;
      try {
        this.#use(this.#open!());
      } catch (err) {
        this.#finish();
        this.#onError?.(err instanceof TcpwasmError ? err : new TcpwasmError("ECONNREFUSED", `websocket link: ${(err as Error).message}`));
        this.#onClose?.({ code: 1006, reason: "", reconnecting: false });
      }
    }, delay);
    this.#onClose?.({ code, reason, reconnecting: true });
  }
}

/**
 * A link over a WebSocket. `target` is a ws:// or wss:// URL (the link opens the socket itself, with
 * the global WebSocket or options.WebSocket, and can reconnect) or a WebSocket that is already open
 * or opening (a page's, or one a `ws` server accepted). Packets sent before it opens wait, within
 * maxBufferedBytes. Await `link.opened` to know it is up.
 * @throws TcpwasmError ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE or ERR_OUT_OF_RANGE for a bad target or option.
 */
export function createWebSocketLink(target: string | URL | WebSocketLike, options?: WebSocketLinkOptions): WebSocketLink {
  const o = optionsObject(options, "options");
  validateKnownKeys(o as Record<string, unknown>, "options", OPTIONS);
  if (o.framing !== undefined) validateOneOf(o.framing, "options.framing", ["ip", "ethernet"]);
  const mtu = o.mtu ?? DEFAULT_MTU;
  validateInteger(mtu, "options.mtu", MIN_LINK_MTU, 65535);
  const maxBuffered = o.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED;
  validateInteger(maxBuffered, "options.maxBufferedBytes", 0);
  const backoff = reconnectOptions(o.reconnect);
  const framing = o.framing ?? "ip";
  if (typeof target === "string" || target instanceof URL) {
    let url: URL;
    try {
      url = new URL(String(target));
    } catch {
      invalidValue("target", String(target), "must be a ws: or wss: URL");
    }
    if (url.protocol !== "ws:" && url.protocol !== "wss:") invalidValue("target", url.href, "must be a ws: or wss: URL");
    const Ctor = o.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (typeof Ctor !== "function") invalidType("options.WebSocket", "a WebSocket constructor (this runtime has no global WebSocket; in Node import from tcpwasm/node)", Ctor);
    if (o.protocols !== undefined && typeof o.protocols !== "string") validateArray(o.protocols, "options.protocols", (p, n) => typeof p === "string" || invalidType(n, "of type string", p));
    if (o.batch !== undefined) validateBoolean(o.batch, "options.batch");
    // Batched framing is offered first, so a relay that knows it picks it before the caller's own.
    const given = o.protocols === undefined ? [] : typeof o.protocols === "string" ? [o.protocols] : [...o.protocols];
    const protocols = o.batch ? [BATCH_PROTOCOL, ...given] : o.protocols;
    const href = url.href;
    return new WebSocketLink(undefined, () => new Ctor(href, protocols), framing, mtu, maxBuffered, backoff);
  }
  if (!isWebSocketLike(target)) invalidType("target", "a ws: or wss: URL or a WebSocket", target);
  if (backoff) invalidValue("options.reconnect", o.reconnect, "needs a URL target (a given socket cannot be reopened)");
  if (o.protocols !== undefined) invalidValue("options.protocols", o.protocols, "needs a URL target");
  if (o.batch !== undefined) invalidValue("options.batch", o.batch, "needs a URL target (a given socket batches when its protocol is BATCH_PROTOCOL)");
  if (o.WebSocket !== undefined) invalidValue("options.WebSocket", o.WebSocket, "needs a URL target");
  if (target.readyState !== CONNECTING && target.readyState !== OPEN) invalidValue("target", `readyState ${target.readyState}`, "must be a connecting or open WebSocket");
  return new WebSocketLink(target, undefined, framing, mtu, maxBuffered, undefined);
}
