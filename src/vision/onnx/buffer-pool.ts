// Input buffers that go to the inference worker and come back, kept for the next input of the same size.

/**
 * Free ArrayBuffers by exact size, at most `maxBytes` in all. An input handed to the worker (a frame's
 * pixels, a batch of face crops) comes back with its answer and waits here for the next input of its
 * size, so that a camera's frames reuse two or three buffers instead of leaving one behind per
 * inference: the worker runs little JavaScript, so it collected garbage rarely and its dead copies of
 * frames (1.2 MB each at 854×480) piled up to tens of MiB between collections.
 */
export class BufferPool {
  /** Free buffers by size; a size given back most recently is last (evicted last). */
  private readonly free = new Map<number, ArrayBuffer[]>();
  private bytes = 0;

  private readonly maxBuffer: number;

  /** `maxBytes` in all; buffers under `minBuffer` or over `maxBuffer` bytes are not kept (small ones die young anyway). */
  constructor(
    private readonly maxBytes: number,
    private readonly minBuffer = 0,
    maxBuffer = maxBytes,
  ) {
    this.maxBuffer = Math.min(maxBuffer, maxBytes);
  }

  /** A buffer of exactly `byteLength` bytes, with whatever it held before: the caller writes all of it. */
  take(byteLength: number): ArrayBuffer {
    const list = this.free.get(byteLength);
    const buffer = list?.pop();
    if (!buffer) return new ArrayBuffer(byteLength);
    this.bytes -= byteLength;
    if (list!.length === 0) this.free.delete(byteLength);
    return buffer;
  }

  /** Keeps `buffer` for a later take(); the sizes given back least recently make room for it. */
  give(buffer: ArrayBuffer): void {
    const size = buffer.byteLength;
    // A detached buffer has length 0.
    if (size === 0 || size < this.minBuffer || size > this.maxBuffer) return;
    // Re-inserted last: the size given back most recently is evicted last.
    const list = this.free.get(size) ?? [];
    this.free.delete(size);
    list.push(buffer);
    this.free.set(size, list);
    this.bytes += size;
    // Room is made from the front: the oldest buffer of the size given back least recently first.
    while (this.bytes > this.maxBytes) {
      const [oldest, buffers] = this.free.entries().next().value!;
      buffers.shift();
      this.bytes -= oldest;
      if (buffers.length === 0) this.free.delete(oldest);
    }
  }

  /** Bytes held, free for take(). */
  get heldBytes(): number {
    return this.bytes;
  }
}
