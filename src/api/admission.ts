import { DomainError } from '../errors.js';

/**
 * Admission control for one kind of request: at most `max` in flight in this process. Beyond
 * it the answer is an immediate 503 with Retry-After, before anything is written, instead of
 * a queue that grows until every request waits for seconds (issue 8: under overload, a fast
 * and truthful refusal, never a slow "maybe"). `max` bounds the wait of the admitted ones to
 * about max / throughput.
 */
export function admission(what: string, max: number) {
  let inFlight = 0;
  return {
    async run<T>(work: () => Promise<T>): Promise<T> {
      if (inFlight >= max) {
        throw new DomainError('Overloaded', `Too many ${what} are being processed right now; nothing was created. Try again in a moment.`, { retryAfterSeconds: 1 });
      }
      inFlight++;
      try {
        return await work();
      } finally {
        inFlight--;
      }
    },
  };
}
