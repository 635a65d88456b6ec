// The demo's progress display (src/tools/progress.ts): the line's format, one redrawn line on a
// terminal that is erased at the end, whole lines elsewhere, and at most one write per interval.
// A virtual clock: nothing depends on how long anything takes.
import { describe, expect, it } from "vitest";
import { progressLine, TransferProgress } from "../../src/tools/progress.js";

describe("progress line", () => {
  it("says the share, the bytes of the total, the average rate and the time left", () => {
    expect(progressLine(412 * 2 ** 20, 2 ** 30, 1000)).toBe("transfer  40.2%  412.0 MiB of 1.00 GiB  3.46 Gbit/s  1.5 s left");
    expect(progressLine(50_000, 100_000, 8)).toBe("transfer  50.0%  48.8 KiB of 97.7 KiB  50.0 Mbit/s  0.0 s left");
    expect(progressLine(0, 2 ** 30, 0)).toBe("transfer   0.0%  0 B of 1.00 GiB  0.0 Mbit/s");
    expect(progressLine(2 ** 30, 2 ** 30, 125_000)).toBe("transfer 100.0%  1.00 GiB of 1.00 GiB  68.7 Mbit/s  in 2 min 5 s");
  });
});

describe("TransferProgress", () => {
  function display(tty: boolean) {
    let t = 0;
    const written: string[] = [];
    const progress = new TransferProgress({ total: 1000, tty, now: () => t, write: (s) => written.push(s), intervalMs: 100 });
    return { progress, written, at: (ms: number) => (t = ms) };
  }

  it("on a terminal redraws one line in place at most once per interval and erases it at the end", () => {
    const { progress, written, at } = display(true);
    at(50);
    progress.update(100); // before the first interval: nothing
    at(100);
    progress.update(200);
    at(150);
    progress.update(300); // within the interval: nothing
    at(200);
    progress.update(400);
    progress.end(1000);
    expect(written).toEqual([
      "\rtransfer  20.0%  200 B of 1000 B  0.0 Mbit/s  0.4 s left\x1b[K",
      "\rtransfer  40.0%  400 B of 1000 B  0.0 Mbit/s  0.3 s left\x1b[K",
      "\r\x1b[K",
    ]);
  });

  it("elsewhere writes whole lines and a last one at 100%; a short run on a terminal writes nothing", () => {
    const { progress, written, at } = display(false);
    at(100);
    progress.update(500);
    at(300);
    progress.end(1000);
    expect(written).toEqual(["transfer  50.0%  500 B of 1000 B  0.0 Mbit/s  0.1 s left\n", "transfer 100.0%  1000 B of 1000 B  0.0 Mbit/s  in 0.3 s\n"]);
    const short = display(true);
    short.at(10);
    short.progress.update(1000);
    short.progress.end(1000);
    expect(short.written).toEqual([]);
  });
});
