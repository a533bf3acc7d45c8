// The onnxruntime worker hands back each output with its own element type, refuses one it cannot carry, and opens sessions with the options given.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { GraphBuilder } from '../src/onnx/writer.js';
import { WorkerSessions } from '../src/vision/onnx/worker-sessions.js';

/** x float32 [2] -> Cast to `to` (ONNX's element type number) as `y`. */
function castGraph(dir: string, name: string, to: number, type: 'float32' | 'uint8' | 'int64'): string {
  const g = new GraphBuilder(name);
  g.input('x', 'float32', [2]);
  g.op('Cast', ['x'], { to }, 'y');
  g.output('y', type, [2]);
  const file = path.join(dir, `${name}.onnx`);
  writeFileSync(file, g.toModel());
  return file;
}

t.test('a uint8 output crosses as uint8, an int64 one is refused with its name', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ar-worker-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const sessions = new WorkerSessions();
  t.teardown(() => sessions.close());
  await sessions.open({ bytes: castGraph(dir, 'bytes', 2, 'uint8'), longs: castGraph(dir, 'longs', 7, 'int64') }, { intraOpNumThreads: 1 });
  const feeds = () => ({ x: { type: 'float32' as const, data: Float32Array.of(3, 7), dims: [2] } });
  const { y } = await sessions.run('bytes', feeds());
  t.equal(y?.type, 'uint8', 'labelled uint8, not float32');
  t.ok(y?.data instanceof Uint8Array, 'as bytes');
  t.same([...(y?.data ?? [])], [3, 7]);
  await t.rejects(sessions.run('longs', feeds()), /output y is int64: only float32 and uint8/);
});

t.test("the sessions' options reach onnxruntime", async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ar-worker-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const sessions = new WorkerSessions();
  // Profiling writes a file per session: proof that onnxruntime itself saw the options.
  await sessions.open(
    { a: castGraph(dir, 'a', 2, 'uint8'), b: castGraph(dir, 'b', 2, 'uint8') },
    { intraOpNumThreads: 1, enableCpuMemArena: true, enableMemPattern: false, enableProfiling: true, profileFilePrefix: path.join(dir, 'profile') },
  );
  const feeds = () => ({ x: { type: 'float32' as const, data: Float32Array.of(3, 7), dims: [2] } });
  t.same([...((await sessions.run('a', feeds())).y?.data ?? [])], [3, 7]);
  await sessions.close();
  const profiles = readdirSync(dir).filter((f) => f.startsWith('profile'));
  t.equal(profiles.length, 2, 'one profile per session once closed, even when both open within one second');
  t.ok(profiles.some((f) => f.startsWith('profile-a_')) && profiles.some((f) => f.startsWith('profile-b_')), `named by session: ${profiles.join(', ')}`);
});

t.test('every input comes back to recycle after its run: a handed-over one itself, a copied one as a copy', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ar-worker-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const back: ArrayBuffer[] = [];
  const sessions = new WorkerSessions((buffer) => back.push(buffer));
  t.teardown(() => sessions.close());
  await sessions.open({ bytes: castGraph(dir, 'bytes', 2, 'uint8') }, { intraOpNumThreads: 1 });
  const handed = Float32Array.of(3, 7);
  const { y } = await sessions.run('bytes', { x: { type: 'float32', data: handed, dims: [2] } }, [handed.buffer]);
  t.same([...(y?.data ?? [])], [3, 7], 'the answer is the same as ever');
  t.equal(handed.byteLength, 0, 'the handed-over input is no longer the caller’s');
  t.equal(back.length, 1, 'and came back');
  t.same([...new Float32Array(back[0]!)], [3, 7], 'with its bytes');
  const copied = Float32Array.of(1, 2);
  await sessions.run('bytes', { x: { type: 'float32', data: copied, dims: [2] } });
  t.same([...copied], [1, 2], 'a copied input stays the caller’s');
  t.equal(back.length, 2);
  t.not(back[1], copied.buffer, 'what comes back is the worker’s copy');
  // A failed run hands nothing back, and the worker goes on.
  await t.rejects(sessions.run('missing', { x: { type: 'float32', data: Float32Array.of(0, 0), dims: [2] } }), /no session missing/);
  t.equal(back.length, 2);
  t.same([...((await sessions.run('bytes', { x: { type: 'float32', data: Float32Array.of(5, 6), dims: [2] } })).y?.data ?? [])], [5, 6]);
});
