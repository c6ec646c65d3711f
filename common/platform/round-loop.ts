import type { Logger } from './logger.ts';

/**
 * Runs `round` again and again with `intervalMs` between rounds until stopped. A failed round is
 * logged and the loop goes on; `stop` wakes the pause and waits for the round in progress.
 */
export class RoundLoop {
  #running = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;

  constructor(
    private readonly round: () => Promise<unknown>,
    private readonly intervalMs: number,
    private readonly onError: (err: Error) => void,
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
      try {
        await this.round();
      } catch (err) {
        this.onError(err as Error);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.intervalMs);
        this.#wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }
}
