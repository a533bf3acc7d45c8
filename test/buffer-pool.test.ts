// The input pool gives back the buffers it was given, by exact size, and never holds more than it may.
import t from 'tap';
import { BufferPool } from '../src/vision/onnx/buffer-pool.js';

t.test('a buffer given back is the one the next take of its size gets', (t) => {
  const pool = new BufferPool(1000);
  const a = pool.take(100);
  t.equal(a.byteLength, 100, 'a new buffer of the size asked for');
  new Uint8Array(a).fill(7);
  pool.give(a);
  t.equal(pool.heldBytes, 100);
  t.equal(pool.take(50).byteLength, 50, 'another size: a new buffer');
  const again = pool.take(100);
  t.equal(again, a, 'the same buffer');
  t.equal(new Uint8Array(again)[0], 7, 'as it was left: the taker writes all of it');
  t.equal(pool.heldBytes, 0);
  t.not(pool.take(100), a, 'once taken it is not handed out twice');
  t.end();
});

t.test('over its size it lets go of the sizes given back longest ago', (t) => {
  const pool = new BufferPool(300);
  const [a, b, c] = [pool.take(100), pool.take(100), pool.take(150)];
  pool.give(a);
  pool.give(b);
  t.equal(pool.heldBytes, 200);
  pool.give(c);
  t.equal(pool.heldBytes, 250, 'one 100-byte buffer dropped to make room');
  t.equal(pool.take(150), c);
  t.equal(pool.take(100), b, 'the later one kept');
  t.not(pool.take(100), a);
  t.end();
});

t.test('detached, too small and too large buffers are not kept', (t) => {
  const pool = new BufferPool(1000, 10, 400);
  const detached = new ArrayBuffer(100);
  structuredClone(detached, { transfer: [detached] });
  pool.give(detached);
  pool.give(new ArrayBuffer(5));
  pool.give(new ArrayBuffer(500));
  t.equal(pool.heldBytes, 0);
  pool.give(new ArrayBuffer(400));
  t.equal(pool.heldBytes, 400, 'the largest it may keep');
  t.end();
});
