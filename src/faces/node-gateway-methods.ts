// createNodeGateway as tcpwasm/node exports it: src/gateway/node-gateway.ts's, tied to the Web faces'
// methods on Stack as createStack and createGateway are (src/faces/stack-methods.ts says why). Its own
// file because the root entry, which exports the other two, must not reach node:net.
import { createNodeGateway as makeNodeGateway } from "../gateway/node-gateway.js";
import { withFaceMethods } from "./stack-methods.js";
import { StackWithWebFace } from "./web.js";
import { StackWithUdpFace } from "./web-udp.js";

/**
 * A whole network for the guests on `options.link` (createGateway) with node:net far sides through
 * an allow/deny policy and names from Node's resolver. Its `stack` has the Web faces' methods.
 * @throws TcpwasmError (as a rejection) for bad options.
 */
export const createNodeGateway: typeof makeNodeGateway = /* @__PURE__ */ withFaceMethods(makeNodeGateway, StackWithWebFace, StackWithUdpFace);
