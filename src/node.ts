// tcpwasm/node: the Node-facing entry (node:net's shape bound to a stack comes here).
export * from "./index.js";
