// Worker thread body: owns the onnxruntime sessions, so that inference never runs on the event loop.
import { parentPort } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import type { WorkerReply, WorkerRequest, WireTensor } from './worker-sessions.js';

const sessions = new Map<string, ort.InferenceSession>();
const port = parentPort;
if (!port) throw new Error('session-worker.js runs only as a worker thread');

/**
 * The options for one session. onnxruntime names a profile by its prefix and the time to the second, so sessions opened in
 * the same second with one prefix would write one file over another: each session's prefix ends in its name.
 */
function sessionOptions(options: ort.InferenceSession.SessionOptions, name: string): ort.InferenceSession.SessionOptions {
  if (!options.enableProfiling || !options.profileFilePrefix) return options;
  return { ...options, profileFilePrefix: `${options.profileFilePrefix}-${name}` };
}

async function handle(request: WorkerRequest): Promise<{ reply: WorkerReply; transfer: ArrayBuffer[] }> {
  switch (request.kind) {
    case 'open': {
      // One at a time: creating sessions is CPU-bound, and parallel creation only contends.
      for (const [name, file] of Object.entries(request.models)) {
        sessions.set(name, await ort.InferenceSession.create(file, sessionOptions({ ...request.options, ...request.overrides[name] }, name)));
      }
      return { reply: { id: request.id, ok: true }, transfer: [] };
    }
    case 'run': {
      const session = sessions.get(request.session);
      if (!session) throw new Error(`no session ${request.session}`);
      const feeds: Record<string, ort.Tensor> = {};
      for (const [name, t] of Object.entries(request.feeds)) feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
      const out = await session.run(feeds);
      const outputs: Record<string, WireTensor> = {};
      // The inputs go back with the answer (the caller keeps them for its next input), and the
      // outputs go over as they are: nothing of a run is left here for this thread's rare collections.
      const returned = [...new Set(Object.values(request.feeds).map((t) => t.data.buffer as ArrayBuffer))];
      const transfer = new Set(returned);
      for (const [name, t] of Object.entries(out)) {
        if (t.type !== 'float32' && t.type !== 'uint8') throw new Error(`output ${name} is ${t.type}: only float32 and uint8 cross the thread boundary`);
        const view = t.data as Float32Array | Uint8Array;
        // A view of part of a buffer is copied: transferring it would hand over (and detach) the rest.
        const data = view.byteOffset === 0 && view.byteLength === view.buffer.byteLength ? view : view.slice();
        outputs[name] = { type: t.type, data, dims: [...t.dims] };
        transfer.add(data.buffer as ArrayBuffer);
      }
      return { reply: { id: request.id, ok: true, outputs, returned }, transfer: [...transfer] };
    }
    case 'close': {
      const all = [...sessions.values()];
      sessions.clear();
      await Promise.all(all.map((s) => s.release()));
      return { reply: { id: request.id, ok: true }, transfer: [] };
    }
  }
}

// Requests are handled one after another: one inference at a time per backend, as the intra-op
// thread count assumes.
let queue = Promise.resolve();
port.on('message', (request: WorkerRequest) => {
  queue = queue.then(async () => {
    try {
      const { reply, transfer } = await handle(request);
      port.postMessage(reply, transfer);
    } catch (err) {
      port.postMessage({ id: request.id, ok: false, error: err instanceof Error ? err.message : String(err) } satisfies WorkerReply);
    }
  });
});
