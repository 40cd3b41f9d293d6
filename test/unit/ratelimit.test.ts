import { describe, expect, it } from 'vitest';
import { PLAID_LIMITS, RateLimiter } from '../../src/plaid/ratelimit.js';

function fakeClock() {
  let now = 0;
  const waits: number[] = [];
  return {
    waits,
    deps: {
      now: () => now,
      // Sleepers wake at an absolute time, as timers do, however many sleep at once.
      sleep: async (ms: number) => {
        waits.push(ms);
        const wake = now + ms;
        await Promise.resolve();
        now = Math.max(now, wake);
      },
    },
  };
}

describe('RateLimiter', () => {
  it('has Plaid\'s documented balance limits', () => {
    expect(PLAID_LIMITS.accountsBalanceGet.production).toEqual({ perItem: 5, perClient: 1200, windowMs: 60_000 });
    expect(PLAID_LIMITS.accountsBalanceGet.sandbox).toEqual({ perItem: 25, perClient: 100, windowMs: 60_000 });
  });

  it('lets calls through until an item\'s window is full, then waits for the oldest to age out', async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter({ perItem: 2, perClient: 100, windowMs: 1000 }, clock.deps);
    await limiter.acquire('a');
    await limiter.acquire('a');
    expect(clock.waits).toEqual([]);
    await limiter.acquire('a');
    expect(clock.waits).toEqual([1000]);
    await limiter.acquire('b'); // another item is not held up
    expect(clock.waits).toEqual([1000]);
  });

  it('holds every item once the client window is full', async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter({ perItem: 10, perClient: 3, windowMs: 60_000 }, clock.deps);
    for (const id of ['a', 'b', 'c']) await limiter.acquire(id);
    await limiter.acquire('d');
    expect(clock.waits).toEqual([60_000]);
  });

  it('never lets concurrent callers overshoot the window', async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter({ perItem: 100, perClient: 5, windowMs: 1000 }, clock.deps);
    const granted: number[] = [];
    await Promise.all(Array.from({ length: 12 }, (_, i) => limiter.acquire(`item-${i}`).then(() => granted.push(clock.deps.now()))));
    // In any 1000 ms window, at most 5 calls.
    for (const t of granted) expect(granted.filter((u) => u >= t && u < t + 1000).length).toBeLessThanOrEqual(5);
    expect(Math.max(...granted)).toBeGreaterThanOrEqual(2000);
    expect(granted).toHaveLength(12);
  });
});
