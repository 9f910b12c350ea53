/** A one-line progress bar on stderr when it is a terminal; a line every few seconds otherwise (logs, CI). */
export class ProgressLine {
  private lastPrint = 0;
  private readonly tty = process.stderr.isTTY === true;

  update(fraction: number, text: string, force = false): void {
    const now = Date.now();
    if (!force && now - this.lastPrint < (this.tty ? 100 : 5000)) return;
    this.lastPrint = now;
    const width = 24;
    const filled = Math.round(Math.max(0, Math.min(1, fraction)) * width);
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}%`;
    if (this.tty) process.stderr.write(`\r\x1b[2K${bar} ${text}`);
    else process.stderr.write(`${bar} ${text}\n`);
  }

  /** Prints a permanent line (above the bar on a terminal). */
  log(text: string): void {
    if (this.tty) process.stderr.write(`\r\x1b[2K${text}\n`);
    else process.stderr.write(`${text}\n`);
  }

  done(): void {
    if (this.tty) process.stderr.write('\r\x1b[2K');
  }
}
