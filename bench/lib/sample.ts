// How the face benches sample (browser-safe: the chromium bench runs it in a page too).
//
// - interleaved: whole runs of each row in turn (bulk transfers), so load from other processes on a
//   shared machine spreads over every row; the first row rotates from round to round and the runs
//   are a short pause apart, so no row pays for the garbage of the row before it.
// - sampleChurn: churn rows are built once and kept warm, then sampled in turn, `size` connections
//   at a time. A fresh pair of engines pays for its first connections' memory (linear memory grows and
//   every new page faults in), which a long-lived stack does not; sampling warm rows measures the
//   steady per-connection cost of each layer, and short interleaved samples keep a burst of noise
//   from landing on one row only.
// - tableRow: a markdown row with the median, min - max, and the median's ratio to each baseline's.

/** A churn workload built once: run(n) makes n sequential connections. */
export interface ChurnRow {
  run(n: number): Promise<void> | void;
  close(): Promise<void> | void;
}

export const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;

/**
 * Pause between two interleaved runs, ms. A run leaves work behind that V8 does after it, on
 * background threads and in the next collections: sweeping and freeing the chunks a reader dropped,
 * and the WebAssembly memories of the two engines or stacks it made (tens of MB each). Timed from
 * the next run's start, that work was billed to whichever row came next: the stack API row, which
 * followed the two raw-engine rows in every round, took 1.45x the CPU time it took when it ran
 * second (4 rounds each way), and showed below the faces built on it. The pause lets it finish
 * outside every run.
 */
const SETTLE_MS = 50;

/**
 * Interleaved rounds of `rows`, each row's results in round order. Each round starts one row further
 * on (round i runs row i first, modulo the count), so no row always follows the same one, and the
 * runs are SETTLE_MS apart.
 */
export async function interleaved<K extends string>(rounds: number, rows: Record<K, () => Promise<number>>): Promise<Record<K, number[]>> {
  const out = {} as Record<K, number[]>;
  const keys = Object.keys(rows) as K[];
  for (const k of keys) out[k] = [];
  for (let i = 0; i < rounds; i++) {
    for (let j = 0; j < keys.length; j++) {
      const k = keys[(i + j) % keys.length]!;
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
      out[k].push(await rows[k]());
    }
  }
  return out;
}

export interface ChurnSampling {
  /** Connections per sample. */
  size: number;
  /** Samples per row. */
  samples: number;
  /** Connections each row makes before sampling starts. */
  warm: number;
}

/** Connections per second of each sample of each row; rows take turns sample by sample. */
export async function sampleChurn<K extends string>(makers: Record<K, () => Promise<ChurnRow>>, s: ChurnSampling): Promise<Record<K, number[]>> {
  const rows = {} as Record<K, ChurnRow>;
  const out = {} as Record<K, number[]>;
  try {
    for (const k in makers) {
      rows[k] = await makers[k]();
      await rows[k].run(s.warm);
      out[k] = [];
    }
    for (let i = 0; i < s.samples; i++) {
      for (const k in rows) {
        const start = performance.now();
        await rows[k].run(s.size);
        out[k].push(s.size / ((performance.now() - start) / 1000));
      }
    }
  } finally {
    for (const k in rows) await rows[k].close();
  }
  return out;
}

/** A markdown row: median, min - max, and the median's ratio to each baseline's median. */
export function tableRow(name: string, xs: number[], baselines: number[][], digits = 2): string {
  const m = median(xs);
  const ratios = baselines.map((b) => ` ${(m / median(b)).toFixed(2)}x |`).join("");
  return `| ${name} | ${m.toFixed(digits)} | ${Math.min(...xs).toFixed(digits)} - ${Math.max(...xs).toFixed(digits)} |${ratios}`;
}

/** How sampleChurn sampled, for the text under a table. */
export function churnSamplingText(c: ChurnSampling): string {
  return `Each row is built once and warmed with ${c.warm} connections, then the rows take turns in samples of
${c.size} connections, ${c.samples} samples each (median, min - max of the samples).`;
}

/** A churn table row: connections/s median, min - max, ratio to the raw engine's median, µs per connection. */
export function churnRow(name: string, xs: number[], raw: number[], extra: number[][] = []): string {
  return `${tableRow(name, xs, [raw, ...extra], 0)} ${(1e6 / median(xs)).toFixed(1)} |`;
}
