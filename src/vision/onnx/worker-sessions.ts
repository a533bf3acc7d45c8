// onnxruntime sessions behind a worker thread: the event loop stays free while networks run.
import { Worker } from 'node:worker_threads';
import type { InferenceSession } from 'onnxruntime-node';

/**
 * onnxruntime-node's `session.run()` returns a promise, but the inference itself is synchronous
 * native code that the binding merely defers with setImmediate (onnxruntime-node 1.30,
 * dist/backend.js): on the main thread an SSD pass stalls every timer, socket and request for its
 * whole duration (measured: 127 ms of event-loop delay per frame). A worker thread owns the sessions
 * instead. Inputs are handed over (an image first copied into a buffer the caller keeps for its
 * inputs: about 1 MB for 640×480, well under a millisecond), and handed back with the outputs, so
 * that the worker, which runs little JavaScript and so collects garbage rarely, keeps nothing of a run.
 */

/** A tensor as it crosses the thread boundary (int64: small inputs such as the detector's layout). */
export interface WireTensor {
  type: 'float32' | 'uint8' | 'int64';
  data: Float32Array | Uint8Array | BigInt64Array;
  dims: number[];
}

export type WorkerRequest =
  | {
      id: number;
      kind: 'open';
      models: Record<string, string>;
      options: InferenceSession.SessionOptions;
      /** Options of single sessions, over `options`. */
      overrides: Record<string, InferenceSession.SessionOptions>;
    }
  | { id: number; kind: 'run'; session: string; feeds: Record<string, WireTensor> }
  | { id: number; kind: 'close' };

export type WorkerReply =
  | {
      id: number;
      ok: true;
      outputs?: Record<string, WireTensor>;
      /** A run's input buffers, handed back (see WorkerSessions' `recycle`). */
      returned?: ArrayBuffer[];
    }
  | { id: number; ok: false; error: string };

/** A request without its id: Omit applied to each member of the union. */
type RequestBody = WorkerRequest extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never;

type Pending = { resolve: (reply: Record<string, WireTensor>) => void; reject: (err: Error) => void };

export class WorkerSessions {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;

  /** `recycle` is given each run's input buffers back once the run is done (for the caller's next inputs). */
  constructor(private readonly recycle: (buffer: ArrayBuffer) => void = () => undefined) {}

  /** Starts the worker and opens one session per model file, named as in `models`; `overrides` changes the options of some. */
  async open(
    models: Record<string, string>,
    options: InferenceSession.SessionOptions,
    overrides: Record<string, InferenceSession.SessionOptions> = {},
  ): Promise<void> {
    const worker = new Worker(new URL('./session-worker.js', import.meta.url));
    // The daemon's lifetime is not the worker's business: an idle worker must not hold the process.
    worker.unref();
    worker.on('message', (reply: WorkerReply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (reply.ok) {
        for (const buffer of reply.returned ?? []) this.recycle(buffer);
        p.resolve(reply.outputs ?? {});
      } else p.reject(new Error(reply.error));
    });
    const failAll = (err: Error) => {
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      if (this.worker === worker) this.worker = undefined;
    };
    worker.on('error', failAll);
    worker.on('exit', (code) => failAll(new Error(`the onnxruntime worker exited with code ${code}`)));
    this.worker = worker;
    await this.request({ kind: 'open', models, options, overrides });
  }

  get running(): boolean {
    return this.worker !== undefined;
  }

  /**
   * Runs one session. Inputs are copied to the worker, except those named in `transfer`, whose
   * buffers are handed over (the caller must not touch them again). Every input buffer comes back
   * to `recycle` when the run succeeds (a copied one as a copy).
   */
  run(session: string, feeds: Record<string, WireTensor>, transfer: ArrayBuffer[] = []): Promise<Record<string, WireTensor>> {
    return this.request({ kind: 'run', session, feeds }, transfer);
  }

  /** Releases the sessions and ends the worker. Safe to call twice. */
  async close(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    await this.request({ kind: 'close' }).catch(() => undefined);
    this.worker = undefined;
    await worker.terminate();
  }

  private request(body: RequestBody, transfer: ArrayBuffer[] = []): Promise<Record<string, WireTensor>> {
    const worker = this.worker;
    if (!worker) return Promise.reject(new Error('the onnxruntime worker is not running'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      // Pending requests keep the process alive, as an in-process inference would.
      worker.ref();
      const done = () => {
        if (this.pending.size === 0) worker.unref();
      };
      this.pending.set(id, {
        resolve: (v) => {
          resolve(v);
          done();
        },
        reject: (e) => {
          reject(e);
          done();
        },
      });
      worker.postMessage({ ...body, id } as WorkerRequest, transfer);
    });
  }
}
