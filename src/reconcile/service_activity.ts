/**
 * Which services are running now: one run of a service at a time, and the
 * self-heal check of a service stops when a run of it starts.
 * @module
 */

/** One run of a service at a time; listeners hear when a run starts (a check then stops). */
export class ServiceActivity {
  readonly #running = new Map<string, Promise<unknown>>();
  readonly #listeners = new Set<(service: string) => void>();

  /** True while a run of any service is in progress. */
  get busy(): boolean {
    return this.#running.size > 0;
  }

  /** True while a run of `service` is in progress. */
  isRunning(service: string): boolean {
    return this.#running.has(service);
  }

  /** Calls `listener` whenever a run of a service starts; returns the unsubscribe function. */
  onRunStart(listener: (service: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Runs `work` as the service's only run (after the one in progress, if any). */
  async run<T>(service: string, work: () => Promise<T>): Promise<T> {
    while (this.#running.has(service)) {
      await this.#running.get(service)!.catch(() => {});
    }
    const running = (async () => {
      for (const listener of this.#listeners) listener(service);
      return await work();
    })();
    this.#running.set(service, running);
    try {
      return await running;
    } finally {
      this.#running.delete(service);
    }
  }
}
