// A one-line progress bar on a terminal's stderr; silent when stderr is not a terminal.

export class Progress {
  private readonly total: number;
  private readonly label: string;
  private readonly enabled: boolean;
  private done = 0;
  private lastDraw = 0;
  private readonly started = Date.now();

  constructor(label: string, total: number, stream: NodeJS.WriteStream = process.stderr) {
    this.label = label;
    this.total = total;
    this.enabled = Boolean(stream.isTTY);
    this.stream = stream;
  }

  private readonly stream: NodeJS.WriteStream;

  tick(): void {
    this.done++;
    const now = Date.now();
    if (!this.enabled || (now - this.lastDraw < 100 && this.done < this.total)) return;
    this.lastDraw = now;
    const width = 30;
    const filled = Math.round((this.done / Math.max(1, this.total)) * width);
    const rate = this.done / Math.max(0.001, (now - this.started) / 1000);
    const eta = rate > 0 ? Math.round((this.total - this.done) / rate) : 0;
    this.stream.write(`\r${this.label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${this.done}/${this.total} ${rate.toFixed(1)}/s eta ${eta}s `);
  }

  finish(): void {
    if (this.enabled) this.stream.write('\n');
  }
}
