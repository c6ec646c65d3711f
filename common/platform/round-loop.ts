import type { Logger } from './logger.ts';
import type { Backoff } from './retry.ts';

/**
 * Runs `round` again and again with `intervalMs` between rounds until stopped. A round may return
 * the pause before the next one instead (0: at once, say when it found more work). A failed round
 * is reported to `onError` and the loop goes on, after `intervalMs` or, given a backoff, after its
 * next delay (reset by the next round that succeeds). `stop` wakes the pause and waits for the
 * round in progress.
 */
export class RoundLoop {
  #running = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;

  constructor(
    private readonly round: () => Promise<unknown>,
    private readonly intervalMs: number,
    private readonly onError: (err: Error, retryInMs: number) => void,
    private readonly backoff?: Backoff,
  ) {}

  /** A loop whose failed rounds are logged as a warning with `what`. */
  static logged(round: () => Promise<unknown>, intervalMs: number, log: Logger | undefined, what: string): RoundLoop {
    return new RoundLoop(round, intervalMs, (err) => log?.warn({ err: err.message }, `${what} failed; retrying`));
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#wake?.();
    await this.#loop;
  }

  async #run(): Promise<void> {
    while (this.#running) {
      let pause = this.intervalMs;
      try {
        const next = await this.round();
        this.backoff?.reset();
        if (typeof next === 'number') pause = next;
      } catch (err) {
        if (this.backoff) pause = this.backoff.next();
        this.onError(err as Error, pause);
      }
      if (!this.#running) break;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, pause);
        this.#wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }
}
