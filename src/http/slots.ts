/** Taking turns for a scarce resource (the webhook bodies read before they are authenticated). */

/**
 * A fixed number of slots; callers wait in turn for one, up to a deadline,
 * so a burst is served in order while at most `size` run at once.
 */
export class Slots {
  #free: number;
  readonly #waiting: Array<() => void> = [];
  constructor(readonly size: number) {
    this.#free = size;
  }

  /** A release function, or undefined when no slot came free within `timeoutMs`. */
  async take(timeoutMs: number): Promise<(() => void) | undefined> {
    if (this.#free <= 0) {
      const granted = await new Promise<boolean>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          resolve(true);
        };
        const timer = setTimeout(() => {
          this.#waiting.splice(this.#waiting.indexOf(wake), 1);
          resolve(false);
        }, timeoutMs);
        this.#waiting.push(wake);
      });
      if (!granted) return undefined;
    } else {
      this.#free--;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // The slot passes straight to the next in line.
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    };
  }

  /** Slots in use. */
  get taken(): number {
    return this.size - this.#free;
  }
}
