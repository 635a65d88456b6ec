// The WebSocket link and stream dialer for Node: the same as the browser-safe ones, with the `ws`
// package's WebSocket as the default constructor (Node 20 has no global WebSocket, and `ws` pauses a
// socket's reads, which the stream dialer uses for backpressure). Node only: the browser entry never
// imports this file.
import { WebSocket as WsWebSocket } from "ws";
import { optionsObject } from "../core/validate.js";
import { createWebSocketLink as createLink, type WebSocketConstructor, type WebSocketLike, type WebSocketLink, type WebSocketLinkOptions } from "./websocket-link.js";
import { dialWebSocketStream as dial, type WebSocketStream, type WebSocketStreamOptions } from "./websocket-stream.js";

const NodeWebSocket = WsWebSocket as unknown as WebSocketConstructor;

/**
 * createWebSocketLink (tcpwasm's root entry) with `ws`'s WebSocket as the default constructor for URL
 * targets. A target may also be a `ws` socket a WebSocketServer accepted.
 * @throws TcpwasmError ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE or ERR_OUT_OF_RANGE for a bad target or option.
 */
export function createWebSocketLink(target: string | URL | WebSocketLike, options?: WebSocketLinkOptions): WebSocketLink {
  const o = optionsObject(options, "options");
  if (typeof target !== "string" && !(target instanceof URL)) return createLink(target, o);
  return createLink(target, { ...o, WebSocket: o.WebSocket ?? NodeWebSocket });
}

/**
 * dialWebSocketStream (tcpwasm's root entry) with `ws`'s WebSocket as the default constructor.
 * @throws TcpwasmError ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE or ERR_SOCKET_BAD_PORT for bad arguments.
 */
export function dialWebSocketStream(relay: string | URL, host: string, port: number, options?: WebSocketStreamOptions): WebSocketStream {
  const o = optionsObject(options, "options");
  return dial(relay, host, port, { ...o, WebSocket: o.WebSocket ?? NodeWebSocket });
}
