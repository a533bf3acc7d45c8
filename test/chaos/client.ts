// The chaos suite's HTTP side: one request on its own connection, and a tally of every answer by status.
import { request } from 'node:http';

export interface Answer {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
  ms: number;
  /** The connection failed or timed out (status 0). */
  error?: string;
}

export interface Call {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  timeoutMs?: number;
}

/** One request on a fresh connection (no keep-alive), so that one phase's sockets never serve another's. */
export function send(port: number, call: Call): Promise<Answer> {
  const start = Date.now();
  let responded = false;
  return new Promise((resolve) => {
    // Node sends a DELETE's body without a length unless told one: the server would read it as a new request.
    const length = call.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(call.body)) };
    const req = request(
      { host: '127.0.0.1', port, method: call.method ?? 'GET', path: call.path, headers: { ...length, ...call.headers }, agent: false },
      (res) => {
        responded = true;
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          // Keep the start of the body only: enough for an error code, never a whole JPEG.
          if (size < 64 * 1024) chunks.push(c);
          size += c.length;
        });
        const done = () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers, ms: Date.now() - start });
        res.on('end', done);
        res.on('close', done);
        res.on('error', (err) => resolve({ status: 0, body: '', headers: {}, ms: Date.now() - start, error: err.message }));
      },
    );
    req.setTimeout(call.timeoutMs ?? 60_000, () => req.destroy(new Error('timed out')));
    // A server that answers before the whole body is sent (a 415 or 413 for a large upload) closes
    // the connection: the write fails, but the answer came, and it is what counts.
    req.on('error', (err) => {
      if (!responded) setTimeout(() => responded || resolve({ status: 0, body: '', headers: {}, ms: Date.now() - start, error: err.message }), 200);
    });
    req.end(call.body);
  });
}

/** The error code of a JSON error answer, if it is one. */
export function codeOf(answer: Answer): string | undefined {
  try {
    return (JSON.parse(answer.body) as { error?: { code?: string } }).error?.code;
  } catch {
    return undefined;
  }
}

/**
 * Every answer of the run by status. A 503 with Retry-After (BUSY, NO_FRAME_YET) is backpressure the
 * daemon means to give; any other 5xx, or a failed connection, is a failure.
 */
export class Tally {
  readonly byStatus = new Map<number, number>();
  unexpected5xx = 0;
  connectionErrors = 0;
  readonly samples: string[] = [];

  record(answer: Answer, what: string): Answer {
    this.byStatus.set(answer.status, (this.byStatus.get(answer.status) ?? 0) + 1);
    const deliberate = answer.status === 503 && answer.headers['retry-after'] !== undefined;
    if (answer.status >= 500 && !deliberate) this.note(`${what}: ${answer.status} ${answer.body.slice(0, 120)}`, () => this.unexpected5xx++);
    if (answer.status === 0) this.note(`${what}: ${answer.error}`, () => this.connectionErrors++);
    return answer;
  }

  get total(): number {
    let n = 0;
    for (const count of this.byStatus.values()) n += count;
    return n;
  }

  /** "200 ×12, 401 ×30, …", statuses in order. */
  summary(): string {
    return [...this.byStatus.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([s, n]) => `${s === 0 ? 'no answer' : s} ×${n}`)
      .join(', ');
  }

  private note(sample: string, count: () => void): void {
    count();
    if (this.samples.length < 10) this.samples.push(sample);
  }
}

/** Runs `jobs` with at most `parallel` at once. */
export async function pool<T>(jobs: (() => Promise<T>)[], parallel: number): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(parallel, jobs.length) }, async () => {
      while (next < jobs.length) {
        const i = next++;
        results[i] = await jobs[i]!();
      }
    }),
  );
  return results;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
