// A TCP byte stream through `tcpwasm relay`'s stream mode (websockify-compatible): the dialer a page's
// gateway calls for each connection it splices out. It opens ws(s)://relay/?host=H&port=P and hands
// back Web Streams: binary messages carry the bytes both ways.
//
// Half-close, a tcpwasm extension websockify does not have: a zero-length binary message means FIN.
// Closing the writable sends one (the relay then shuts down the TCP connection's write side and keeps
// reading); one arriving ends the readable. A WebSocket close ends both directions; a close code other
// than 1000 errors the readable (the relay closes with 4xxx codes when it refuses: the reason says why).
//
// Backpressure: writes wait while the socket holds more than highWaterMark unsent bytes (browsers
// give no drain event, so the wait polls bufferedAmount); reads follow the ReadableStream's queue where
// the socket can pause (`ws` does), and otherwise queue as the browser's WebSocket does.
import { TcpwasmError } from "../core/errors.js";
import { invalidType, invalidValue, optionsObject, validateInteger, validateKnownKeys, validatePort, validateString } from "../core/validate.js";
import type { WebSocketConstructor, WebSocketLike } from "./websocket-link.js";

/** Options of dialWebSocketStream. */
export interface WebSocketStreamOptions {
  /** The WebSocket constructor. Default: the global WebSocket (tcpwasm/node: `ws`'s). */
  WebSocket?: WebSocketConstructor;
  /** Unsent bytes at which writes wait, and the readable's queue size in bytes. Default 256 KiB. */
  highWaterMark?: number;
}

/** One TCP connection through a relay, as Web Streams (the shape of a Direct Sockets TCPSocket's opened info). */
export interface WebSocketStream {
  /** Resolves when the WebSocket is open (the relay then dials the destination); rejects if it never opens. */
  readonly opened: Promise<void>;
  /** Bytes from the destination; ends at its FIN, errors when the relay closes abnormally (the reason says why). */
  readonly readable: ReadableStream<Uint8Array>;
  /** Bytes to the destination; closing it sends FIN (a zero-length message), aborting it closes the socket. */
  readonly writable: WritableStream<Uint8Array>;
  /** Resolves when the WebSocket has closed, with its close code and reason. */
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Closes the WebSocket (both directions) at once. */
  close(): void;
}

const OPTIONS: ReadonlySet<string> = new Set(["WebSocket", "highWaterMark"]);
const OPEN = 1;
// Bytes of the stream in one message: well under any relay's message limit, large enough to amortise framing.
const MAX_MESSAGE = 64 * 1024;

/** A ws: or wss: relay URL with host and port set as websockify's query parameters, and halfclose=1. */
export function streamUrl(relay: string | URL, host: string, port: number): string {
  let url: URL;
  try {
    url = new URL(String(relay));
  } catch {
    invalidValue("relay", String(relay), "must be a ws: or wss: URL");
  }
  if (url.protocol !== "ws:" && url.protocol !== "wss:") invalidValue("relay", url.href, "must be a ws: or wss: URL");
  url.searchParams.set("host", host);
  url.searchParams.set("port", String(port));
  // Ask for the zero-length-message FIN from the relay (a plain websockify client gets a close instead).
  url.searchParams.set("halfclose", "1");
  return url.href;
}

/**
 * Opens a TCP connection to host:port through a relay in stream mode (`relay` is its ws(s):// URL;
 * a `?token=` in it is kept) and returns it as Web Streams.
 * @throws TcpwasmError ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE or ERR_SOCKET_BAD_PORT for bad arguments.
 */
export function dialWebSocketStream(relay: string | URL, host: string, port: number, options?: WebSocketStreamOptions): WebSocketStream {
  validateString(host, "host");
  if (!host) invalidValue("host", host, "must not be empty");
  validatePort(port, "port");
  const o = optionsObject(options, "options");
  validateKnownKeys(o as Record<string, unknown>, "options", OPTIONS);
  const highWaterMark = o.highWaterMark ?? 256 * 1024;
  validateInteger(highWaterMark, "options.highWaterMark", 1);
  const Ctor = o.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (typeof Ctor !== "function") invalidType("options.WebSocket", "a WebSocket constructor (this runtime has no global WebSocket; in Node import from tcpwasm/node)", Ctor);
  const socket: WebSocketLike & { pause?: () => void; resume?: () => void; isPaused?: boolean } = new Ctor(streamUrl(relay, host, port));
  socket.binaryType = socket.binaryType === "nodebuffer" ? "nodebuffer" : "arraybuffer";
  const pausable = typeof socket.pause === "function" && typeof socket.resume === "function";

  let resolveOpened!: () => void;
  let rejectOpened!: (e: TcpwasmError) => void;
  const opened = new Promise<void>((res, rej) => ((resolveOpened = res), (rejectOpened = rej)));
  opened.catch(() => {});
  let resolveClosed!: (v: { code: number; reason: string }) => void;
  const closed = new Promise<{ code: number; reason: string }>((res) => (resolveClosed = res));
  let readController!: ReadableStreamDefaultController<Uint8Array>;
  let readDone = false;
  let writeDone = false;
  let wasOpen = false;

  const endRead = (error?: TcpwasmError) => {
    if (readDone) return;
    readDone = true;
    if (error) readController.error(error);
    else readController.close();
  };

  const readable = new ReadableStream<Uint8Array>(
    {
      start(c) {
        readController = c;
      },
      pull() {
        if (pausable && socket.isPaused) socket.resume!();
      },
      cancel() {
        readDone = true;
        if (writeDone) socket.close(1000);
      },
    },
    { highWaterMark, size: (chunk) => chunk.byteLength },
  );

  // Writes wait while the socket holds highWaterMark unsent bytes; browsers fire no drain event.
  const drained = () => new Promise<void>((resolve, reject) => {
    const check = () => {
      if (socket.readyState !== OPEN) reject(new TcpwasmError("EPIPE", "websocket stream: the socket closed"));
      else if (socket.bufferedAmount <= highWaterMark) resolve();
      else setTimeout(check, 1);
    };
    check();
  });

  const writable = new WritableStream<Uint8Array>({
    async write(chunk) {
      if (!(chunk instanceof Uint8Array)) throw new TcpwasmError("ERR_INVALID_ARG_TYPE", "websocket stream: write a Uint8Array");
      await opened;
      if (socket.readyState !== OPEN) throw new TcpwasmError("EPIPE", "websocket stream: the socket closed");
      // A zero-length message is FIN on the wire: an empty write carries nothing and sends nothing.
      if (chunk.length === 0) return;
      // A relay bounds its messages (1 MiB by default): a large write goes as several.
      for (let off = 0; off < chunk.length; off += MAX_MESSAGE) {
        if (socket.readyState !== OPEN) throw new TcpwasmError("EPIPE", "websocket stream: the socket closed");
        socket.send(chunk.subarray(off, off + MAX_MESSAGE));
        if (socket.bufferedAmount > highWaterMark) await drained();
      }
    },
    async close() {
      await opened;
      writeDone = true;
      if (socket.readyState === OPEN) socket.send(new Uint8Array(0));
      if (readDone) socket.close(1000);
    },
    abort() {
      writeDone = true;
      socket.close(1000);
    },
  });

  // The close event that follows says what happened; an error listener also keeps an EventEmitter-based
  // socket (`ws`) from throwing an unhandled 'error'.
  socket.addEventListener("error", () => {});
  socket.addEventListener("open", () => {
    wasOpen = true;
    resolveOpened();
  });
  socket.addEventListener("message", (event: { data: unknown }) => {
    if (readDone) return;
    const data = event.data;
    let bytes: Uint8Array;
    if (data instanceof ArrayBuffer) bytes = new Uint8Array(data);
    else if (ArrayBuffer.isView(data)) bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    else return; // Text is no part of the byte stream.
    if (bytes.length === 0) {
      endRead();
      if (writeDone) socket.close(1000);
      return;
    }
    readController.enqueue(bytes);
    if (pausable && (readController.desiredSize ?? 1) <= 0) socket.pause!();
  });
  socket.addEventListener("close", (event: { code: number; reason: string }) => {
    const reason = String(event.reason ?? "");
    const abnormal = event.code !== 1000 && event.code !== 1005;
    const error = abnormal
      ? new TcpwasmError(wasOpen ? "ECONNRESET" : "ECONNREFUSED", `websocket stream: closed with code ${event.code}${reason ? ` (${reason})` : ""}`)
      : undefined;
    if (!wasOpen) rejectOpened(error ?? new TcpwasmError("ECONNREFUSED", "websocket stream: closed before it opened"));
    endRead(error);
    writeDone = true;
    resolveClosed({ code: event.code, reason });
  });

  return { opened, readable, writable, closed, close: () => socket.close(1000) };
}
