import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { FAN_OUT_V8_FLAGS, budgetFor, CLIENT_429_PAUSE_MS, MAX_429_PAUSE_MS, WINDOW_MARGIN_MS, fanOut, LARGE_FAN_OUT, MAX_IN_FLIGHT, MIN_IN_FLIGHT, MIN_RATE, Pacer, PLAID_LIMITS, RateLimiter, RunHalted } from '../../src/plaid/ratelimit.js';

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

describe('Pacer', () => {
  const limits = { perItem: 5, perClient: 1200, windowMs: 60_000 };

  it('defaults the budget to half of Plaid\'s documented per-client limit, and refuses --rate above the limit', () => {
    expect(budgetFor('accountsBalanceGet', 'production', undefined)).toMatchObject({ budget: 600 });
    expect(budgetFor('accountsBalanceGet', 'sandbox', undefined)).toMatchObject({ budget: 50 });
    expect(budgetFor('itemGet', 'production', undefined)).toMatchObject({ budget: 2500 });
    expect(budgetFor('accountsBalanceGet', 'production', 1200)).toMatchObject({ budget: 1200 });
    expect(budgetFor('accountsBalanceGet', 'production', 1201)).toEqual({ error: expect.stringContaining('1200 calls per minute per client') });
  });

  it('after a burst of a fifth of the budget, spaces calls evenly at the budget, and never exceeds it in any minute', async () => {
    const clock = fakeClock();
    const pacer = new Pacer({ limits, budget: 600 }, clock.deps);
    const granted: number[] = [];
    for (let i = 0; i < 1500; i++) {
      await pacer.acquire(`item-${i}`);
      granted.push(clock.deps.now());
    }
    expect(granted.slice(0, 120).every((t) => t === 0)).toBe(true);
    expect(granted[120]! - granted[119]!).toBe(100); // 600/min: one every 100 ms
    for (let i = 0; i < granted.length; i++) {
      const inWindow = granted.filter((u) => u >= granted[i]! && u < granted[i]! + 60_000).length;
      expect(inWindow).toBeLessThanOrEqual(600);
    }
    // 1,500 calls at 600 per minute: a little under 2.5 minutes (the burst is ahead of the schedule).
    expect(granted.at(-1)!).toBeGreaterThan(120_000);
    expect(granted.at(-1)!).toBeLessThanOrEqual(150_000);
  });

  it('keeps Plaid\'s per-item limit whatever the budget', async () => {
    const clock = fakeClock();
    const pacer = new Pacer({ limits, budget: 1200 }, clock.deps);
    const granted: number[] = [];
    for (let i = 0; i < 7; i++) {
      await pacer.acquire('same');
      granted.push(clock.deps.now());
    }
    expect(granted.slice(0, 5)).toEqual([0, 0, 0, 0, 0]);
    expect(granted[5]).toBe(60_000 + WINDOW_MARGIN_MS);
  });

  it('AIMD: halves the rate on a per-client 429, once per episode, then grows back by a tenth of the budget per minute of successes', () => {
    const clock = fakeClock();
    const pacer = new Pacer({ limits, budget: 600 }, clock.deps);
    pacer.settle('a', 'client-limit', 0, 100);
    expect(pacer.rate).toBe(300);
    // A 429 on a call that started before the reaction says nothing new.
    pacer.settle('b', 'client-limit', -1, 100);
    expect(pacer.rate).toBe(300);
    // Another 429 before any success: the window is still full; waiting longer helps, not a lower rate.
    pacer.settle('b', 'client-limit', 5, 100);
    expect(pacer.rate).toBe(300);
    // One minute of successes at the running rate (one every intervalMs): +60 (a tenth of 600), not +300.
    const minuteOfSuccesses = (startedAt: number) => {
      for (let t = 0; t < 60_000; t += pacer.intervalMs) pacer.settle('c', 'ok', startedAt, 100);
    };
    minuteOfSuccesses(10);
    expect(pacer.rate).toBeGreaterThan(359);
    expect(pacer.rate).toBeLessThan(361.5);
    // A new episode halves again.
    pacer.settle('d', 'client-limit', 20, 100);
    expect(pacer.rate).toBeCloseTo(180, 0);
    minuteOfSuccesses(30);
    expect(pacer.rate).toBeCloseTo(240, 0);
    for (let i = 0; i < 20; i++) minuteOfSuccesses(30);
    expect(pacer.rate).toBe(600); // never above the budget
    // Repeated episodes never stop the run: the rate has a floor.
    const low = new Pacer({ limits, budget: 8 }, clock.deps);
    for (let i = 0; i < 20; i++) {
      low.settle('d', 'client-limit', 40 + 2 * i, 100);
      expect(low.rate).toBe(MIN_RATE);
      low.settle('d', 'ok', 41 + 2 * i, 100);
      expect(low.rate).toBeGreaterThan(MIN_RATE);
    }
  });

  it('doubles the pause for each further 429 of an episode, up to its cap', async () => {
    const clock = fakeClock();
    const pacer = new Pacer({ limits, budget: 600 }, clock.deps);
    const pauses: number[] = [];
    for (let i = 0; i < 7; i++) {
      const before = clock.deps.now();
      pacer.settle(`item-${i}`, 'client-limit', before, 10);
      await pacer.acquire(`item-${i}`);
      pauses.push(clock.deps.now() - before);
    }
    expect(pauses).toEqual([1000, 2000, 4000, 8000, 16000, MAX_429_PAUSE_MS, MAX_429_PAUSE_MS]);
  });

  it('after a per-client 429, pauses new calls briefly and spaces them at the lower rate', async () => {
    const clock = fakeClock();
    const pacer = new Pacer({ limits, budget: 600 }, clock.deps);
    await pacer.acquire('a');
    pacer.settle('a', 'client-limit', 0, 50);
    await pacer.acquire('b');
    const first = clock.deps.now();
    expect(first).toBeGreaterThanOrEqual(CLIENT_429_PAUSE_MS);
    await pacer.acquire('c');
    expect(clock.deps.now() - first).toBe(200); // 300/min
  });

  it('a per-item 429 holds that item for one slot of its window, not the others', async () => {
    const clock = fakeClock();
    const pacer = new Pacer({ limits, budget: 600 }, clock.deps);
    pacer.settle('busy', 'item-limit', 0, 50);
    await pacer.acquire('other');
    expect(clock.deps.now()).toBe(0);
    await pacer.acquire('busy');
    expect(clock.deps.now()).toBe(12_000); // 60 s / 5 per item
    expect(pacer.rate).toBe(600); // not the client's problem
  });

  it('sizes calls in flight by Little\'s law from the rate and observed latency, within its bounds', () => {
    const clock = fakeClock();
    const pacer = new Pacer({ limits, budget: 600 }, clock.deps);
    // Slow start: MIN_IN_FLIGHT at first, one more per success.
    expect(pacer.inFlightTarget()).toBe(MIN_IN_FLIGHT);
    pacer.settle('a', 'ok', 0, 3_000);
    expect(pacer.inFlightTarget()).toBe(MIN_IN_FLIGHT + 1);
    for (let i = 0; i < 100; i++) pacer.settle('a', 'ok', 0, 2_000);
    expect(pacer.inFlightTarget()).toBe(30); // 10/s x 2 s x 1.5
    // The 90th percentile of the last 256: a few slow calls out of many do not raise it.
    for (let i = 0; i < 240; i++) pacer.settle('a', 'ok', 0, 30);
    expect(pacer.inFlightTarget()).toBe(MIN_IN_FLIGHT);
    for (let i = 0; i < 256; i++) pacer.settle('a', 'ok', 0, 30_000);
    expect(pacer.inFlightTarget()).toBe(MAX_IN_FLIGHT);
    const fresh = new Pacer({ limits, budget: 600 }, clock.deps);
    for (let i = 0; i < 40; i++) fresh.settle('a', 'ok', 0, 3_000);
    expect(fresh.inFlightTarget()).toBe(45); // 10/s x 3 s x 1.5
    const bounded = new Pacer({ limits, budget: 600, maxInFlight: 4 }, clock.deps);
    expect(bounded.inFlightTarget()).toBe(4);
  });
});

describe('fanOut', () => {
  it('starts the next item as soon as one finishes: a slow item never holds the others', async () => {
    const pacer = new Pacer({ limits: { perItem: 100, perClient: 100_000, windowMs: 60_000 }, budget: 100_000, maxInFlight: 3 });
    const order: number[] = [];
    const started: number[] = [];
    let othersDone!: () => void;
    const others = new Promise<void>((resolve) => (othersDone = resolve));
    let fallback: NodeJS.Timeout | undefined;
    await fanOut(
      8,
      async (i) => {
        started.push(i);
        // Item 0 ends once the seven others have, or after 5 s: a fan-out that held them behind it
        // ends it first. Ended by an event, not a timer, it cannot lose a race to a stalled loop.
        if (i === 0) await Promise.race([others, new Promise((r) => (fallback = setTimeout(r, 5_000)))]);
        else await new Promise((r) => setTimeout(r, 10));
        return i;
      },
      {
        pacer,
        onDone: (_, result) => {
          order.push(result);
          if (order.length === 7 && !order.includes(0)) othersDone();
        },
      },
    );
    clearTimeout(fallback);
    expect(order).toHaveLength(8);
    // Item 0 is the slow one: every other item finished before it.
    expect(order.at(-1)).toBe(0);
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('tunes V8 for memory once, before the first item, for a fan-out of LARGE_FAN_OUT items or more, and only then', async () => {
    const pacer = () => new Pacer({ limits: { perItem: 100, perClient: 100_000, windowMs: 60_000 }, budget: 100_000 });
    const events: string[] = [];
    const run = (count: number) =>
      fanOut(count, async (i) => (events.push(`item ${i}`), i), { pacer: pacer(), onLarge: () => events.push('large') });
    await run(LARGE_FAN_OUT - 1);
    expect(events).not.toContain('large');
    events.length = 0;
    await run(LARGE_FAN_OUT);
    expect(events.filter((e) => e === 'large')).toHaveLength(1);
    expect(events[0]).toBe('large');
    expect(events).toHaveLength(LARGE_FAN_OUT + 1);
  });

  it("tunes V8 with flags this Node knows: taken without a word on stderr, and a hot function stays unoptimized", () => {
    // %GetOptimizationStatus (V8's runtime, behind --allow-natives-syntax): bit 16 is "optimized", by Maglev or TurboFan.
    const probe = (flags: string) =>
      spawnSync(
        process.execPath,
        [
          '--allow-natives-syntax',
          '-e',
          // Optimizing runs on background threads: the loop gives it every chance (up to 10^7 calls) before the answer.
          `if (process.argv[1]) require('node:v8').setFlagsFromString(process.argv[1]);
           function hot(x) { return x * 2 + 1; }
           for (let round = 0; round < 100 && !(%GetOptimizationStatus(hot) & 16); round++) for (let i = 0; i < 1e5; i++) hot(i);
           process.stdout.write(String(%GetOptimizationStatus(hot) & 16));`,
          '--', // what follows is the script's argument, not node's
          flags,
        ],
        { encoding: 'utf8' },
      );
    const tuned = probe(FAN_OUT_V8_FLAGS);
    expect(tuned.stderr).toBe('');
    expect(tuned.stdout).toBe('0');
    // The same loop without the flags is optimized, so the check above can fail.
    expect(probe('').stdout).toBe('16');
  });

  it('stops at the first error that stops the run', async () => {
    const pacer = new Pacer({ limits: { perItem: 100, perClient: 100_000, windowMs: 60_000 }, budget: 100_000, maxInFlight: 2 });
    const done: number[] = [];
    await expect(
      fanOut(10, async (i) => {
        if (i === 3) throw new Error('store gone');
        return i;
      }, { pacer, onDone: (i) => done.push(i) }),
    ).rejects.toThrow('store gone');
    expect(done.length).toBeLessThan(10);
  });

  // A clock whose sleeps end 20 ms later in real time (the pacing wait over, the clock moved on),
  // or at once with the signal's reason when it is aborted first, as realTimers.sleep does.
  function interruptibleClock() {
    let now = 0;
    return {
      now: () => now,
      sleep: (ms: number, signal?: AbortSignal) =>
        new Promise<void>((resolve, reject) => {
          if (signal?.aborted) return reject(signal.reason);
          const timer = setTimeout(() => {
            now += ms;
            resolve();
          }, 20);
          signal?.addEventListener('abort', () => (clearTimeout(timer), reject(signal.reason)), { once: true });
        }),
    };
  }

  for (const withStop of [true, false]) {
    it(`sends nothing more once an error stops the run: the items waiting for a pacing slot are dropped (${withStop ? 'with' : 'without'} a stop signal)`, async () => {
      // Budget 5 a minute: one call at once, then one every 12 s, so items 1 to 3 wait for their slot.
      const pacer = new Pacer({ limits: { perItem: 100, perClient: 100, windowMs: 60_000 }, budget: 5, maxInFlight: 4 }, interruptibleClock());
      const sent: number[] = [];
      const ends: unknown[] = [];
      const fatal = new Error('invalid client_id or secret provided');
      const run = fanOut(
        4,
        async (i) => {
          try {
            await pacer.acquire(`item-${i}`);
          } catch (error) {
            ends.push(error);
            throw error;
          }
          sent.push(i);
          if (i === 0) throw fatal;
          return i;
        },
        { pacer, stop: withStop ? new AbortController().signal : undefined },
      );
      await expect(run).rejects.toBe(fatal);
      // Long enough for a wait that was not ended to end (20 ms) and send its call.
      await new Promise((r) => setTimeout(r, 100));
      expect(sent).toEqual([0]);
      expect(ends).toHaveLength(3);
      for (const e of ends) expect(e).toBeInstanceOf(RunHalted);
      // And a call that asks later is refused at once.
      await expect(pacer.acquire('item-9')).rejects.toBeInstanceOf(RunHalted);
    });
  }
});
