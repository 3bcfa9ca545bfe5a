/**
 * The one retry helper: jittered exponential backoff, defaults in one place, a way to stop early,
 * and no retries of programmer errors (TypeError, RangeError, …), which would only repeat.
 */
export interface RetryOptions {
  /** Attempts after the first. */
  retries?: number;
  initialMs?: number;
  maxMs?: number;
  /** Called before each wait, with the attempt that failed (1-based) and the delay. */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  /** Stop retrying when this returns false (e.g. the process is stopping). */
  shouldRetry?: (err: unknown) => boolean;
  /** For tests. */
  random?: () => number;
}

export const RETRY_DEFAULTS = { retries: 8, initialMs: 250, maxMs: 30_000 } as const;

const isBug = (err: unknown) => err instanceof TypeError || err instanceof RangeError || err instanceof SyntaxError || err instanceof ReferenceError;

/**
 * @example
 * await retry(() => producer.send(batch), { onRetry: (e, n, ms) => log.warn({ n, ms }, 'send failed, retrying') });
 */
export async function retry<T>(fn: () => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const retries = opts.retries ?? RETRY_DEFAULTS.retries;
  const initial = opts.initialMs ?? RETRY_DEFAULTS.initialMs;
  const max = opts.maxMs ?? RETRY_DEFAULTS.maxMs;
  const random = opts.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt > retries || isBug(err) || (opts.shouldRetry && !opts.shouldRetry(err))) throw err;
      // Full jitter: a random delay up to the exponential cap spreads retrying clients apart.
      const delay = Math.round(random() * Math.min(max, initial * 2 ** (attempt - 1)));
      opts.onRetry?.(err, attempt, delay);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
