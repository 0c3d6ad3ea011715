/** A one-line progress bar on stderr; on a non-terminal it prints a line every 10%. */

export class Progress {
  private lastPct = -1;
  private readonly start = Date.now();
  private readonly tty = process.stderr.isTTY === true;
  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly quiet = false,
  ) {}

  update(done: number, info: string): void {
    if (this.quiet) return;
    const frac = this.total > 0 ? Math.min(done / this.total, 1) : 1;
    const pct = Math.floor(frac * 100);
    const elapsed = (Date.now() - this.start) / 1000;
    const eta = frac > 0 ? elapsed * (1 / frac - 1) : 0;
    const bar = "#".repeat(Math.round(frac * 24)).padEnd(24, ".");
    const line = `${this.label} [${bar}] ${String(pct).padStart(3)}% ${done}/${this.total} ${fmtTime(elapsed)}<${fmtTime(eta)} ${info}`;
    if (this.tty) process.stderr.write(`\r${line.slice(0, (process.stderr.columns ?? 160) - 1)}\x1b[K`);
    else if (pct >= this.lastPct + 10 || done === this.total) {
      this.lastPct = pct - (pct % 10);
      process.stderr.write(`${line}\n`);
    }
  }

  /** A line of its own (a per-epoch result), below the bar on a terminal. */
  note(text: string): void {
    if (this.quiet) return;
    process.stderr.write(this.tty ? `\r\x1b[K${text}\n` : `${text}\n`);
  }

  done(): void {
    if (this.tty && !this.quiet) process.stderr.write("\n");
  }
}

export function fmtTime(s: number): string {
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(Math.floor(s % 60)).padStart(2, "0")}s` : `${s.toFixed(1)}s`;
}
