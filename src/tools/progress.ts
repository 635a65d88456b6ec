// A transfer's progress for a person watching a long run: the share done, the bytes, the average rate
// and the time left, on stderr so stdout (the ladder) stays clean. On a terminal one line is redrawn in
// place and erased at the end; anywhere else (asked for with --progress) a line is written now and
// then, and a last one at 100%.

/** One progress line: `transfer  40.2%  412.0 MiB of 1.00 GiB  3.21 Gbit/s  2.6 s left`. */
export function progressLine(done: number, total: number, elapsedMs: number): string {
  const share = total > 0 ? (done / total) * 100 : 100;
  const rate = elapsedMs > 0 ? (done * 8) / (elapsedMs / 1000) : 0;
  let line = `transfer ${share.toFixed(1).padStart(5)}%  ${fmtSize(done)} of ${fmtSize(total)}  ${fmtRate(rate)}`;
  if (done < total && rate > 0) line += `  ${fmtSeconds(((total - done) * 8) / rate)} left`;
  else if (done >= total) line += `  in ${fmtSeconds(elapsedMs / 1000)}`;
  return line;
}

function fmtSize(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} B`;
}

function fmtRate(bitsPerSecond: number): string {
  return bitsPerSecond >= 1e9 ? `${(bitsPerSecond / 1e9).toFixed(2)} Gbit/s` : `${(bitsPerSecond / 1e6).toFixed(1)} Mbit/s`;
}

function fmtSeconds(s: number): string {
  return s >= 60 ? `${Math.floor(s / 60)} min ${Math.round(s % 60)} s` : `${s.toFixed(1)} s`;
}

/** Where progress goes, and how. */
export interface ProgressOptions {
  /** Bytes the transfer will move. */
  total: number;
  /** Writes text to the stream (stderr). */
  write: (text: string) => void;
  /** A terminal: redraw one line in place. Otherwise whole lines, one per `intervalMs`. */
  tty: boolean;
  /** Milliseconds, the clock the transfer is timed with. */
  now: () => number;
  /** Between two updates; default 200 ms on a terminal, 1000 ms otherwise. */
  intervalMs?: number;
}

/** A progress display fed with the bytes done; writes at most once per interval. */
export class TransferProgress {
  readonly #o: ProgressOptions;
  readonly #interval: number;
  readonly #start: number;
  #last: number;
  #drawn = false;

  /** The transfer starts now. */
  constructor(options: ProgressOptions) {
    this.#o = options;
    this.#interval = options.intervalMs ?? (options.tty ? 200 : 1000);
    this.#start = this.#last = options.now();
  }

  /** `done` bytes moved so far: written if an interval passed since the last line. */
  update(done: number): void {
    const t = this.#o.now();
    if (t - this.#last < this.#interval) return;
    this.#last = t;
    const line = progressLine(done, this.#o.total, t - this.#start);
    // "\r" and erase to the end of the line (ECMA-48 EL): the next line overwrites this one.
    this.#o.write(this.#o.tty ? `\r${line}\x1b[K` : `${line}\n`);
    this.#drawn = true;
  }

  /** The transfer is over: a terminal's line is erased (stdout follows), elsewhere a last line says 100%. */
  end(done: number): void {
    if (this.#o.tty) {
      if (this.#drawn) this.#o.write("\r\x1b[K");
    } else {
      this.#o.write(`${progressLine(done, this.#o.total, this.#o.now() - this.#start)}\n`);
    }
  }
}
