/** Runs share the work tree; a rollback has it alone. */

/**
 * Lets runs share the work tree while a rollback has it alone: a rollback
 * waits for the runs in progress, and runs wait while a rollback runs or waits.
 */
export class RunGate {
  #shared = 0;
  #exclusive = false;
  #waitingExclusive = 0;
  #wakers: (() => void)[] = [];

  /** Runs `work` beside other shared work, never during exclusive work. */
  async shared<T>(work: () => Promise<T>): Promise<T> {
    while (this.#exclusive || this.#waitingExclusive > 0) await this.#wait();
    this.#shared++;
    try {
      return await work();
    } finally {
      this.#shared--;
      this.#wake();
    }
  }

  /** Runs `work` alone. */
  async exclusive<T>(work: () => Promise<T>): Promise<T> {
    this.#waitingExclusive++;
    try {
      while (this.#exclusive || this.#shared > 0) await this.#wait();
    } finally {
      this.#waitingExclusive--;
    }
    this.#exclusive = true;
    try {
      return await work();
    } finally {
      this.#exclusive = false;
      this.#wake();
    }
  }

  #wait(): Promise<void> {
    return new Promise((resolve) => this.#wakers.push(resolve));
  }

  #wake(): void {
    const wakers = this.#wakers;
    this.#wakers = [];
    for (const wake of wakers) wake();
  }
}
