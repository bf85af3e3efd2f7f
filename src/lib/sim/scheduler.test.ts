import { describe, expect, it } from 'vitest';
import { EventScheduler, RealTimePacer } from './scheduler';
import { seededRandom } from './random';

describe('EventScheduler', () => {
  it('runs due events in time order and moves now to the target', () => {
    const scheduler = new EventScheduler();
    const log: string[] = [];
    scheduler.at(300, () => log.push(`c@${scheduler.now}`));
    scheduler.at(100, (t) => log.push(`a@${t}`));
    scheduler.after(200, () => log.push(`b@${scheduler.now}`));
    scheduler.at(400, () => log.push('d'));
    expect(scheduler.pending).toBe(4);
    expect(scheduler.nextEventTime()).toBe(100);
    expect(scheduler.advanceTo(300)).toBe(3);
    expect(log).toEqual(['a@100', 'b@200', 'c@300']);
    expect(scheduler.now).toBe(300);
    expect(scheduler.pending).toBe(1);
    expect(scheduler.advanceBy(50)).toBe(0);
    expect(scheduler.now).toBe(350);
    expect(scheduler.advanceBy(50)).toBe(1);
    expect(log.at(-1)).toBe('d');
    expect(scheduler.nextEventTime()).toBeUndefined();
  });

  it('runs events with equal times first in, first out, including ones added during the run', () => {
    const scheduler = new EventScheduler();
    const log: number[] = [];
    for (let i = 0; i < 5; i++) {
      scheduler.at(10, () => {
        log.push(i);
        if (i === 1) scheduler.at(10, () => log.push(99));
      });
    }
    scheduler.advanceTo(10);
    expect(log).toEqual([0, 1, 2, 3, 4, 99]);
  });

  it('runs events scheduled during the run when they fall at or before the target', () => {
    const scheduler = new EventScheduler();
    const log: number[] = [];
    scheduler.at(10, () => {
      scheduler.after(5, (t) => log.push(t));
      scheduler.after(0, (t) => log.push(t));
      scheduler.at(21, (t) => log.push(t));
    });
    expect(scheduler.advanceTo(20)).toBe(3);
    expect(log).toEqual([10, 15]);
    expect(scheduler.nextEventTime()).toBe(21);
  });

  it('runs an event scheduled at now on the next advance', () => {
    const scheduler = new EventScheduler();
    scheduler.advanceTo(50);
    let ran = false;
    scheduler.at(50, () => {
      ran = true;
    });
    expect(scheduler.advanceTo(50)).toBe(1);
    expect(ran).toBe(true);
  });

  it('cancels events; cancelling twice or after the run does nothing', () => {
    const scheduler = new EventScheduler();
    const log: string[] = [];
    const cancelA = scheduler.at(10, () => log.push('a'));
    const cancelB = scheduler.at(20, () => log.push('b'));
    scheduler.at(30, () => log.push('c'));
    cancelA();
    cancelA();
    expect(scheduler.pending).toBe(2);
    scheduler.advanceTo(25);
    cancelB();
    expect(scheduler.pending).toBe(1);
    scheduler.advanceTo(30);
    expect(log).toEqual(['b', 'c']);
  });

  it('lets a handler cancel a later event of the same run', () => {
    const scheduler = new EventScheduler();
    const log: string[] = [];
    let cancelLater = (): void => {};
    scheduler.at(10, () => cancelLater());
    cancelLater = scheduler.at(10, () => log.push('cancelled'));
    scheduler.at(10, () => log.push('kept'));
    scheduler.advanceTo(10);
    expect(log).toEqual(['kept']);
  });

  it('property: with random times and cancellations the heap runs exactly a stable sort of the survivors', () => {
    const random = seededRandom(7);
    const scheduler = new EventScheduler();
    const ran: number[] = [];
    const expected: { time: number; index: number }[] = [];
    const cancels: (() => void)[] = [];
    for (let index = 0; index < 3000; index++) {
      const time = Math.floor(random() * 500); // many equal times
      cancels.push(scheduler.at(time, () => ran.push(index)));
      expected.push({ time, index });
    }
    const cancelled = new Set<number>();
    for (let i = 0; i < 1000; i++) {
      const index = Math.floor(random() * cancels.length);
      cancels[index]?.();
      cancelled.add(index);
    }
    expect(scheduler.pending).toBe(3000 - cancelled.size);
    scheduler.advanceTo(250);
    scheduler.advanceTo(1000);
    const survivors = expected
      .filter(({ index }) => !cancelled.has(index))
      .sort((a, b) => a.time - b.time || a.index - b.index)
      .map(({ index }) => index);
    expect(ran).toEqual(survivors);
    expect(scheduler.pending).toBe(0);
  });

  it('rejects scheduling in the past and going back in time', () => {
    const scheduler = new EventScheduler();
    scheduler.advanceTo(100);
    expect(() => scheduler.at(99, () => {})).toThrow(RangeError);
    expect(() => scheduler.at(Number.NaN, () => {})).toThrow(RangeError);
    expect(() => scheduler.after(-1, () => {})).toThrow(RangeError);
    expect(() => scheduler.advanceTo(99)).toThrow(RangeError);
    expect(() => scheduler.advanceBy(-1)).toThrow(RangeError);
    expect(scheduler.now).toBe(100);
  });

  describe('every', () => {
    it('repeats at first + k·period until cancelled', () => {
      const scheduler = new EventScheduler();
      const times: number[] = [];
      const cancel = scheduler.every(100, (t) => times.push(t), 50);
      scheduler.advanceTo(360);
      expect(times).toEqual([50, 150, 250, 350]);
      cancel();
      cancel();
      scheduler.advanceTo(1000);
      expect(times).toHaveLength(4);
      expect(scheduler.pending).toBe(0);
    });

    it('starts one period from now by default and does not drift with a fractional period', () => {
      const scheduler = new EventScheduler();
      scheduler.advanceTo(1000);
      const times: number[] = [];
      scheduler.every(1e9 / 3, (t) => times.push(t));
      scheduler.advanceTo(1000 + 1e9 * 100);
      expect(times).toHaveLength(300);
      const first = 1000 + 1e9 / 3;
      times.forEach((time, k) => {
        expect(time).toBe(first + k * (1e9 / 3));
        expect(Math.abs(time - (1000 + ((k + 1) * 1e9) / 3))).toBeLessThan(1e-3);
      });
    });

    it('can be cancelled from inside its own handler', () => {
      const scheduler = new EventScheduler();
      let count = 0;
      const cancel = scheduler.every(10, () => {
        if (++count === 3) cancel();
      });
      scheduler.advanceTo(1000);
      expect(count).toBe(3);
      expect(scheduler.pending).toBe(0);
    });

    it('keeps its schedule when the handler throws', () => {
      const errors: unknown[] = [];
      const scheduler = new EventScheduler({ onError: (error) => errors.push(error) });
      let count = 0;
      scheduler.every(10, () => {
        count++;
        throw new Error('boom');
      });
      scheduler.advanceTo(50);
      expect(count).toBe(5);
      expect(errors).toHaveLength(5);
    });

    it('rejects a non-positive period', () => {
      const scheduler = new EventScheduler();
      expect(() => scheduler.every(0, () => {})).toThrow(RangeError);
    });
  });

  describe('errors thrown by handlers', () => {
    it('by default finishes the run, then rethrows the error', () => {
      const scheduler = new EventScheduler();
      const log: number[] = [];
      const failure = new Error('handler failed');
      scheduler.at(10, () => {
        throw failure;
      });
      scheduler.at(20, (t) => log.push(t));
      expect(() => scheduler.advanceTo(30)).toThrow(failure);
      expect(log).toEqual([20]);
      expect(scheduler.now).toBe(30);
      scheduler.at(40, (t) => log.push(t));
      expect(scheduler.advanceTo(40)).toBe(1);
    });

    it('by default rethrows several errors as one AggregateError', () => {
      const scheduler = new EventScheduler();
      scheduler.at(10, () => {
        throw new Error('one');
      });
      scheduler.at(20, () => {
        throw new Error('two');
      });
      let caught: unknown;
      try {
        scheduler.advanceTo(20);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(AggregateError);
      expect((caught as AggregateError).errors.map((e: Error) => e.message)).toEqual(['one', 'two']);
    });

    it('with onError reports each error with its time and does not throw', () => {
      const reported: [unknown, number][] = [];
      const scheduler = new EventScheduler({ onError: (error, time) => reported.push([error, time]) });
      const failure = new Error('x');
      scheduler.at(10, () => {
        throw failure;
      });
      scheduler.at(20, () => {});
      expect(scheduler.advanceTo(30)).toBe(2);
      expect(reported).toEqual([[failure, 10]]);
    });

    it('refuses a reentrant advance from inside a handler', () => {
      const reported: unknown[] = [];
      const scheduler = new EventScheduler({ onError: (error) => reported.push(error) });
      scheduler.at(10, () => scheduler.advanceTo(20));
      scheduler.advanceTo(30);
      expect(reported).toHaveLength(1);
      expect(String(reported[0])).toMatch(/inside an event handler/);
      expect(scheduler.now).toBe(30);
    });
  });
});

/** A wall clock and setTimeout stand-in under the test's control. */
class FakeWallClock {
  nowMs = 1000;
  #timers = new Map<number, { dueMs: number; callback: () => void }>();
  #nextHandle = 1;
  readonly thrown: unknown[] = [];

  readonly now = (): number => this.nowMs;

  readonly setTimer = (callback: () => void, delayMs: number): unknown => {
    const handle = this.#nextHandle++;
    this.#timers.set(handle, { dueMs: this.nowMs + delayMs, callback });
    return handle;
  };

  readonly clearTimer = (handle: unknown): void => {
    if (typeof handle === 'number') this.#timers.delete(handle);
  };

  get pendingTimers(): number {
    return this.#timers.size;
  }

  /** Moves the clock forward, firing timers as they fall due, like an event loop would. */
  advance(ms: number): void {
    const endMs = this.nowMs + ms;
    for (;;) {
      const due = [...this.#timers]
        .filter(([, timer]) => timer.dueMs <= endMs)
        .sort(([, a], [, b]) => a.dueMs - b.dueMs)[0];
      if (!due) break;
      const [handle, timer] = due;
      this.#timers.delete(handle);
      this.nowMs = Math.max(this.nowMs, timer.dueMs);
      try {
        timer.callback();
      } catch (error) {
        this.thrown.push(error);
      }
    }
    this.nowMs = endMs;
  }

  /** Moves the clock without firing anything: a frozen tab. */
  freeze(ms: number): void {
    this.nowMs += ms;
  }
}

function pacerWith(clock: FakeWallClock, scheduler: EventScheduler, speed = 1, maxLagMs?: number): RealTimePacer {
  return new RealTimePacer(scheduler, {
    speed,
    tickMs: 5,
    ...(maxLagMs === undefined ? {} : { maxLagMs }),
    now: clock.now,
    setTimer: clock.setTimer,
    clearTimer: clock.clearTimer,
  });
}

describe('RealTimePacer', () => {
  it('keeps virtual time on the wall clock in real time', () => {
    const clock = new FakeWallClock();
    const scheduler = new EventScheduler();
    const pacer = pacerWith(clock, scheduler);
    const ranAt: number[] = [];
    scheduler.at(42e6, (t) => ranAt.push(t));
    pacer.start();
    expect(pacer.running).toBe(true);
    clock.advance(40);
    expect(scheduler.now).toBe(40e6);
    expect(ranAt).toEqual([]);
    clock.advance(10);
    expect(scheduler.now).toBe(50e6);
    expect(ranAt).toEqual([42e6]);
  });

  it('runs a minute of virtual time per second at speed 60', () => {
    const clock = new FakeWallClock();
    const scheduler = new EventScheduler();
    let ticks = 0;
    scheduler.every(1e9, () => ticks++);
    const pacer = pacerWith(clock, scheduler, 60);
    pacer.start();
    clock.advance(1000);
    expect(scheduler.now).toBe(60e9);
    expect(ticks).toBe(60);
  });

  it('keeps virtual time continuous when the speed changes between ticks', () => {
    const clock = new FakeWallClock();
    const scheduler = new EventScheduler();
    const pacer = pacerWith(clock, scheduler, 1);
    pacer.start();
    clock.advance(100);
    expect(scheduler.now).toBe(100e6);
    clock.freeze(2); // between ticks
    pacer.speed = 10;
    expect(pacer.speed).toBe(10);
    expect(scheduler.now).toBe(102e6);
    clock.advance(50); // the last tick is at wall +148 ms, 2 ms before the end
    expect(scheduler.now).toBe(102e6 + 48 * 10e6);
    pacer.speed = 0.5; // catches up on those 2 ms at speed 10 first
    expect(scheduler.now).toBe(602e6);
    clock.advance(100); // last tick 2 ms before the end again
    expect(scheduler.now).toBe(602e6 + 98 * 0.5e6);
  });

  it('stops advancing when stopped and resumes from there when restarted', () => {
    const clock = new FakeWallClock();
    const scheduler = new EventScheduler();
    const pacer = pacerWith(clock, scheduler);
    pacer.start();
    clock.advance(20);
    pacer.stop();
    expect(pacer.running).toBe(false);
    expect(clock.pendingTimers).toBe(0);
    clock.advance(1000);
    expect(scheduler.now).toBe(20e6);
    pacer.start();
    clock.advance(30);
    expect(scheduler.now).toBe(50e6);
  });

  it('after a freeze longer than maxLagMs catches up on maxLagMs only, then runs on normally', () => {
    const clock = new FakeWallClock();
    const scheduler = new EventScheduler();
    const pacer = pacerWith(clock, scheduler, 60, 200);
    let events = 0;
    scheduler.every(1e6, () => events++); // one per virtual millisecond
    pacer.start();
    clock.advance(10);
    expect(scheduler.now).toBe(600e6);
    clock.freeze(10 * 60 * 1000); // ten minutes frozen: would be 10 virtual hours at speed 60
    clock.advance(0); // the overdue tick fires
    expect(scheduler.now).toBe(600e6 + 200 * 60e6);
    expect(events).toBe(600 + 12_000);
    clock.advance(10);
    expect(scheduler.now).toBe(600e6 + 200 * 60e6 + 600e6);
  });

  it('catches up fully on gaps within maxLagMs (background-tab timer throttling)', () => {
    const clock = new FakeWallClock();
    const scheduler = new EventScheduler();
    const pacer = pacerWith(clock, scheduler);
    pacer.start();
    clock.freeze(900);
    clock.advance(0);
    expect(scheduler.now).toBe(900e6);
  });

  it('with maxSliceMs, catches up in slices of that much, one task each, and arrives all the same', () => {
    const clock = new FakeWallClock();
    const scheduler = new EventScheduler();
    const slices: number[] = [];
    let last = 0;
    const pacer = new RealTimePacer(scheduler, {
      tickMs: 5,
      maxSliceMs: 10,
      now: clock.now,
      setTimer: (callback, delayMs) =>
        clock.setTimer(() => {
          callback();
          slices.push(scheduler.now - last);
          last = scheduler.now;
        }, delayMs),
      clearTimer: clock.clearTimer,
    });
    pacer.start();
    clock.freeze(900);
    clock.advance(0);
    expect(scheduler.now).toBe(900e6);
    expect(slices.length).toBeGreaterThanOrEqual(90);
    expect(Math.max(...slices)).toBe(10e6);
    // caught up: back to ticks every 5 ms
    clock.advance(5);
    expect(scheduler.now).toBe(905e6);
    expect(() => new RealTimePacer(scheduler, { maxSliceMs: 0 })).toThrow(RangeError);
  });

  it('keeps ticking when an event handler throws', () => {
    const clock = new FakeWallClock();
    const scheduler = new EventScheduler();
    const pacer = pacerWith(clock, scheduler);
    scheduler.at(3e6, () => {
      throw new Error('handler failed');
    });
    pacer.start();
    clock.advance(20);
    expect(clock.thrown).toHaveLength(1);
    expect(pacer.running).toBe(true);
    expect(scheduler.now).toBe(20e6);
  });

  it('carries on from a scheduler advanced by hand beyond the wall clock', () => {
    const clock = new FakeWallClock();
    const scheduler = new EventScheduler();
    const pacer = pacerWith(clock, scheduler);
    pacer.start();
    clock.advance(10);
    scheduler.advanceBy(5e9);
    clock.advance(5);
    expect(scheduler.now).toBe(10e6 + 5e9);
    clock.advance(10);
    expect(scheduler.now).toBe(10e6 + 5e9 + 10e6);
  });

  it('rejects a speed that is not positive', () => {
    const scheduler = new EventScheduler();
    expect(() => new RealTimePacer(scheduler, { speed: 0 })).toThrow(RangeError);
    const pacer = new RealTimePacer(scheduler);
    expect(() => {
      pacer.speed = -1;
    }).toThrow(RangeError);
    expect(pacer.speed).toBe(1);
  });

  it('defaults to performance.now and setTimeout', () => {
    const pacer = new RealTimePacer(new EventScheduler());
    pacer.start();
    expect(pacer.running).toBe(true);
    pacer.stop();
    expect(pacer.running).toBe(false);
  });
});
