/** A mutual exclusion in one process: the daemon's cycles and the operator's requests take turns. */
export class OneAtATime {
  #tail: Promise<unknown> = Promise.resolve();

  /** Runs `work` once every earlier `work` has ended. */
  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(() => work());
    this.#tail = result.catch(() => {});
    return result;
  }
}
