// Where the Node-face tests run their scenarios: node:net over 127.0.0.1, or tcpwasm's bindNet over
// two stacks joined by the in-memory link (real clock). A scenario gets the client's and the server's
// `net` and the address the client dials, so the same script runs against both.
import * as nodeNet from "node:net";
import { createStack, type StackOptions } from "../src/tcp/stack.js";
import { createMemoryLinkPair, type MemoryLinkOptions } from "../src/net/memory-link.js";
import { bindNet, type BoundNet } from "../src/faces/node-net.js";

/** What the scenarios use of a `net`: node:net and BoundNet both fit. */
export interface NetFace {
  createServer(options: nodeNet.ServerOpts, listener?: (socket: nodeNet.Socket) => void): nodeNet.Server;
  connect(options: { host: string; port: number; allowHalfOpen?: boolean; noDelay?: boolean }): nodeNet.Socket;
}

export interface Env {
  name: "node:net" | "tcpwasm";
  client: NetFace;
  server: NetFace;
  /** The address servers listen on and clients dial. */
  host: string;
  dispose(): Promise<void>;
}

export function nodeEnv(): Env {
  return { name: "node:net", client: nodeNet, server: nodeNet, host: "127.0.0.1", dispose: async () => {} };
}

// Short RTO and MSL so that failures and TIME-WAIT do not drag the tests out.
export const FAST_CONFIG: StackOptions["config"] = { rtoInitialMs: 50, rtoMinMs: 20, mslMs: 50 };

export async function tcpwasmEnv(options: { link?: MemoryLinkOptions; config?: StackOptions["config"]; trace?: StackOptions["trace"] } = {}): Promise<
  Env & { clientNet: BoundNet; serverNet: BoundNet; stacks: Awaited<ReturnType<typeof createStack>>[] }
> {
  const [la, lb] = createMemoryLinkPair(options.link);
  const config = { ...FAST_CONFIG, ...options.config };
  const a = await createStack({ addresses: ["10.0.0.1/24"], name: "client", config, trace: options.trace });
  const b = await createStack({ addresses: ["10.0.0.2/24"], name: "server", config, trace: options.trace });
  a.attach(la);
  b.attach(lb);
  const clientNet = bindNet(a);
  const serverNet = bindNet(b);
  return {
    name: "tcpwasm",
    // The BoundNet's sockets are net.Socket-shaped Duplexes: the scenarios only touch that shape.
    client: clientNet as unknown as NetFace,
    server: serverNet as unknown as NetFace,
    clientNet,
    serverNet,
    stacks: [a, b],
    host: "10.0.0.2",
    dispose: async () => {
      a.close();
      b.close();
    },
  };
}

export function listen(server: nodeNet.Server, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, () => {
      server.off("error", reject);
      resolve((server.address() as nodeNet.AddressInfo).port);
    });
  });
}

export function closeServer(server: nodeNet.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

export function closed(socket: nodeNet.Socket): Promise<boolean> {
  return new Promise((resolve) => socket.once("close", resolve));
}
