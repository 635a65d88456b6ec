#!/usr/bin/env node
// The `tcpwasm` command.
import { loadEngine } from "./index.js";

async function main(argv: string[]): Promise<number> {
  const [command] = argv;
  if (command === "version" || command === "--version") {
    const engine = await loadEngine();
    process.stdout.write(`tcpwasm ${engine.flavor} build\n`);
    return 0;
  }
  process.stderr.write("usage: tcpwasm <command>\n");
  return 2;
}

main(process.argv.slice(2)).then((code) => process.exit(code), (err) => {
  process.stderr.write(`tcpwasm: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
