// A first-in first-out queue that drops its oldest items beyond a bound: an output never holds up the pipeline.
export class BoundedQueue<T> {
  private readonly items: T[] = [];

  /** `capacity` is read on every push, so that a configuration update applies to what comes next. */
  constructor(private readonly capacity: () => number) {}

  get length(): number {
    return this.items.length;
  }

  /** Adds at the back; returns how many of the oldest items were dropped to stay within the bound. */
  push(item: T): number {
    this.items.push(item);
    let dropped = 0;
    while (this.items.length > Math.max(0, this.capacity())) {
      this.items.shift();
      dropped++;
    }
    return dropped;
  }

  shift(): T | undefined {
    return this.items.shift();
  }

  /** Empties the queue, returning what it held, oldest first. */
  takeAll(): T[] {
    return this.items.splice(0);
  }
}
