// The functions that make stacks, as the package's entries export them: the same functions as
// src/tcp/stack.ts's createStack and src/gateway/gateway.ts's createGateway, tied to the Web faces'
// methods on Stack (stack.connect, stack.listen, stack.openUDPSocket; src/faces/web.ts, web-udp.ts).
//
// Why the tie: the faces add those methods to Stack.prototype, a change a bundler must keep wherever
// the module that makes it is kept. Made at a face module's top level, it kept the stack, both faces
// and DNS in a page that imported only loadWire from the root entry (about as much as a stack). The
// change is now a call marked pure, which a bundler keeps only where a kept function names it; these
// name it. A page that makes a stack gets the methods, one that imports only loadWire does not carry
// them. Without a bundler (Node, tests) every module runs as it loads, as before.
import { createStack as makeStack } from "../tcp/stack.js";
import { createGateway as makeGateway } from "../gateway/gateway.js";
import { StackWithWebFace } from "./web.js";
import { StackWithUdpFace } from "./web-udp.js";

/**
 * @internal `maker` itself. The faces' constants are its other arguments so that a bundler keeps them,
 * and the methods they add to Stack, wherever it keeps `maker`.
 */
export function withFaceMethods<F>(maker: F, ...faces: unknown[]): F {
  void faces;
  return maker;
}

/**
 * Creates a stack: loads and configures an engine. Attach links before opening connections; then
 * `stack.connect()`, `stack.listen()` and `stack.openUDPSocket()` are the Web faces on it.
 * @throws TcpwasmError (as a rejection) ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE or ERR_OUT_OF_RANGE for bad options, before anything is loaded.
 */
export const createStack: typeof makeStack = /* @__PURE__ */ withFaceMethods(makeStack, StackWithWebFace, StackWithUdpFace);

/**
 * A whole network for the guests on `options.link`: DHCP, DNS, router advertisements, TCP to any
 * address through `options.connect`, echo replies. Its `stack` has the Web faces' methods.
 * @throws TcpwasmError (as a rejection) ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE or ERR_OUT_OF_RANGE for bad options.
 */
export const createGateway: typeof makeGateway = /* @__PURE__ */ withFaceMethods(makeGateway, StackWithWebFace, StackWithUdpFace);
