/**
 * Discrete-event scheduling in virtual time (nanoseconds as a float64, exact up to 2^53 ns ≈ 104
 * days), plus a pacer that lets virtual time follow the wall clock at a chosen speed.
 */

/** Cancels a scheduled event; calling it after the event ran, or twice, does nothing. */
export type Cancel = () => void;

/** An event handler; receives the virtual time it runs at. */
export type ScheduledFn = (nowNs: number) => void;

export interface EventSchedulerOptions {
  /**
   * Receives every error an event handler throws, as it happens; the run goes on. Without it the
   * run still goes on to its target time, then advanceTo rethrows the error (an AggregateError if
   * several handlers threw). Either way the scheduler stays consistent and usable.
   */
  onError?: (error: unknown, timeNs: number) => void;
}

interface ScheduledEvent {
  readonly timeNs: number;
  /** Order of scheduling: breaks ties between equal times so they run first in, first out. */
  readonly sequence: number;
  readonly fn: ScheduledFn;
  /** Position in the heap, -1 once it ran or was cancelled: gives O(log n) cancellation. */
  heapIndex: number;
}

export class EventScheduler {
  #nowNs = 0;
  #nextSequence = 0;
  #heap: ScheduledEvent[] = [];
  #advancing = false;
  readonly #onError: ((error: unknown, timeNs: number) => void) | undefined;

  constructor(options: EventSchedulerOptions = {}) {
    this.#onError = options.onError;
  }

  /** Current virtual time in nanoseconds. */
  get now(): number {
    return this.#nowNs;
  }

  /** Number of events waiting to run. */
  get pending(): number {
    return this.#heap.length;
  }

  /** Time of the earliest waiting event. */
  nextEventTime(): number | undefined {
    return this.#heap[0]?.timeNs;
  }

  /** Runs `fn` at virtual time `timeNs` (≥ now; equal to now runs it at the next advance). */
  at(timeNs: number, fn: ScheduledFn): Cancel {
    if (!Number.isFinite(timeNs) || timeNs < this.#nowNs) {
      throw new RangeError(`cannot schedule at ${timeNs} ns: now is ${this.#nowNs} ns`);
    }
    const event: ScheduledEvent = { timeNs, sequence: this.#nextSequence++, fn, heapIndex: -1 };
    this.#push(event);
    return () => this.#remove(event);
  }

  after(delayNs: number, fn: ScheduledFn): Cancel {
    if (!(delayNs >= 0)) throw new RangeError(`delay ${delayNs} ns is negative`);
    return this.at(this.#nowNs + delayNs, fn);
  }

  /**
   * Runs `fn` every `periodNs`, first at `firstAtNs` (default now + period). Occurrence k is at
   * first + k·period, so rounding does not drift. A handler that throws keeps its schedule.
   */
  every(periodNs: number, fn: ScheduledFn, firstAtNs = this.#nowNs + periodNs): Cancel {
    if (!(periodNs > 0) || !Number.isFinite(periodNs)) throw new RangeError(`period ${periodNs} ns is not positive`);
    let occurrence = 0;
    let cancelNext: Cancel;
    let cancelled = false;
    const run: ScheduledFn = (nowNs) => {
      // Schedule the next occurrence first: the handler may throw, or cancel the series.
      occurrence++;
      cancelNext = this.at(firstAtNs + occurrence * periodNs, run);
      fn(nowNs);
    };
    cancelNext = this.at(firstAtNs, run);
    return () => {
      if (cancelled) return;
      cancelled = true;
      cancelNext();
    };
  }

  /**
   * Runs every event due at or before `timeNs` in time order (first in, first out for equal times),
   * including events scheduled during the run that fall at or before `timeNs`, then sets now to
   * `timeNs`. Returns the number of events run. Not reentrant: handlers must not call it.
   */
  advanceTo(timeNs: number): number {
    if (Number.isNaN(timeNs) || timeNs < this.#nowNs) {
      throw new RangeError(`cannot go back from ${this.#nowNs} ns to ${timeNs} ns`);
    }
    if (this.#advancing) throw new Error('advanceTo was called from inside an event handler');
    this.#advancing = true;
    let ran = 0;
    const errors: unknown[] = [];
    try {
      for (let next = this.#heap[0]; next !== undefined && next.timeNs <= timeNs; next = this.#heap[0]) {
        this.#remove(next);
        this.#nowNs = next.timeNs;
        ran++;
        try {
          next.fn(next.timeNs);
        } catch (error) {
          if (this.#onError) this.#onError(error, next.timeNs);
          else errors.push(error);
        }
      }
      this.#nowNs = timeNs;
    } finally {
      this.#advancing = false;
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `${errors.length} scheduled events threw`);
    return ran;
  }

  advanceBy(durationNs: number): number {
    if (!(durationNs >= 0)) throw new RangeError(`duration ${durationNs} ns is negative`);
    return this.advanceTo(this.#nowNs + durationNs);
  }

  #push(event: ScheduledEvent): void {
    event.heapIndex = this.#heap.length;
    this.#heap.push(event);
    this.#siftUp(event.heapIndex);
  }

  #remove(event: ScheduledEvent): void {
    const index = event.heapIndex;
    if (index < 0) return;
    event.heapIndex = -1;
    const last = this.#heap.pop();
    if (last === undefined || last === event) return;
    this.#heap[index] = last;
    last.heapIndex = index;
    this.#siftDown(index);
    this.#siftUp(last.heapIndex);
  }

  #siftUp(index: number): void {
    const heap = this.#heap;
    const event = heap[index];
    if (event === undefined) return;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = heap[parentIndex] as ScheduledEvent;
      if (!runsBefore(event, parent)) break;
      heap[index] = parent;
      parent.heapIndex = index;
      index = parentIndex;
    }
    heap[index] = event;
    event.heapIndex = index;
  }

  #siftDown(index: number): void {
    const heap = this.#heap;
    const event = heap[index];
    if (event === undefined) return;
    for (;;) {
      const leftIndex = 2 * index + 1;
      if (leftIndex >= heap.length) break;
      const rightIndex = leftIndex + 1;
      const left = heap[leftIndex] as ScheduledEvent;
      const right = heap[rightIndex];
      const [childIndex, child] =
        right !== undefined && runsBefore(right, left) ? [rightIndex, right] : [leftIndex, left];
      if (!runsBefore(child, event)) break;
      heap[index] = child;
      child.heapIndex = index;
      index = childIndex;
    }
    heap[index] = event;
    event.heapIndex = index;
  }
}

function runsBefore(a: ScheduledEvent, b: ScheduledEvent): boolean {
  return a.timeNs < b.timeNs || (a.timeNs === b.timeNs && a.sequence < b.sequence);
}

export interface RealTimePacerOptions {
  /** Virtual seconds per wall-clock second: 1 = real time, 60 = a minute per second. Default 1. */
  speed?: number;
  /** Wall-clock milliseconds between ticks. Default 5. */
  tickMs?: number;
  /**
   * Most wall-clock time one tick catches up on, in milliseconds. Default 1000, which rides out the
   * 1 s timer throttling of background tabs. After a longer gap (a frozen tab, a debugger pause)
   * the excess is dropped: virtual time moves on by at most maxLagMs × speed and then resumes from
   * there, as if the simulation had been paused, instead of replaying minutes of events at once.
   * This also bounds the work of one tick to maxLagMs × speed of virtual time.
   */
  maxLagMs?: number;
  /**
   * Most wall-clock time one tick advances, in milliseconds; a tick that is further behind
   * continues in the next task at once, so catching up never blocks the page's thread for long
   * (a browser counts every task over 50 ms against the page's responsiveness). Default: no limit.
   */
  maxSliceMs?: number;
  /** Wall clock in milliseconds. Default performance.now(). */
  now?: () => number;
  /** setTimeout-like. */
  setTimer?: (callback: () => void, delayMs: number) => unknown;
  /** clearTimeout-like; receives what setTimer returned. */
  clearTimer?: (handle: unknown) => void;
}

/**
 * Drives an EventScheduler from the wall clock: each tick advances virtual time to
 * anchor + (wall − wall anchor) × speed. Errors thrown by the scheduler's run surface from the
 * timer callback (as uncaught errors) without stopping the pacer.
 */
export class RealTimePacer {
  readonly #scheduler: EventScheduler;
  readonly #tickMs: number;
  readonly #maxLagMs: number;
  readonly #maxSliceMs: number;
  readonly #wallNowMs: () => number;
  readonly #setTimer: (callback: () => void, delayMs: number) => unknown;
  readonly #clearTimer: (handle: unknown) => void;
  #speed: number;
  #running = false;
  #timer: unknown = undefined;
  /** The wall time (ms) and virtual time (ns) that correspond to each other. */
  #wallAnchorMs = 0;
  #virtualAnchorNs = 0;
  #lastCatchUpWallMs = 0;

  constructor(scheduler: EventScheduler, options: RealTimePacerOptions = {}) {
    this.#scheduler = scheduler;
    this.#speed = checkedSpeed(options.speed ?? 1);
    this.#tickMs = options.tickMs ?? 5;
    this.#maxLagMs = options.maxLagMs ?? 1000;
    this.#maxSliceMs = options.maxSliceMs ?? Infinity;
    if (!(this.#maxSliceMs > 0)) throw new RangeError(`maxSliceMs ${this.#maxSliceMs} is not positive`);
    if (!(this.#tickMs >= 0)) throw new RangeError(`tickMs ${this.#tickMs} is negative`);
    if (!(this.#maxLagMs > 0)) throw new RangeError(`maxLagMs ${this.#maxLagMs} is not positive`);
    this.#wallNowMs = options.now ?? (() => performance.now());
    this.#setTimer = options.setTimer ?? ((callback, delayMs) => setTimeout(callback, delayMs));
    this.#clearTimer = options.clearTimer ?? ((handle) => clearTimeout(handle as ReturnType<typeof setTimeout>));
  }

  get running(): boolean {
    return this.#running;
  }

  get speed(): number {
    return this.#speed;
  }

  /** Changing speed first catches up at the old speed, so virtual time stays continuous. */
  set speed(speed: number) {
    const checked = checkedSpeed(speed);
    try {
      if (this.#running) this.#catchUp(false);
    } finally {
      this.#speed = checked;
      this.#anchor();
    }
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#anchor();
    this.#scheduleTick();
  }

  /** Stops ticking; virtual time stays where the last tick left it. */
  stop(): void {
    if (!this.#running) return;
    this.#running = false;
    this.#clearTimer(this.#timer);
    this.#timer = undefined;
  }

  #anchor(): void {
    this.#wallAnchorMs = this.#wallNowMs();
    this.#lastCatchUpWallMs = this.#wallAnchorMs;
    this.#virtualAnchorNs = this.#scheduler.now;
  }

  #scheduleTick(delayMs = this.#tickMs): void {
    this.#timer = this.#setTimer(() => this.#tick(), delayMs);
  }

  #tick(): void {
    if (!this.#running) return;
    // Schedule first so an error thrown by an event handler cannot stop the pacer.
    this.#scheduleTick();
    if (this.#catchUp()) {
      // Still behind after a slice: go on in the next task, without the tick's pause.
      this.#clearTimer(this.#timer);
      this.#scheduleTick(0);
    }
  }

  /** Advances toward the wall clock; true when a slice limit left it behind. */
  #catchUp(sliced = true): boolean {
    const wallMs = this.#wallNowMs();
    const gapMs = wallMs - this.#lastCatchUpWallMs;
    this.#lastCatchUpWallMs = wallMs;
    // Drop wall time beyond maxLagMs since the last catch-up by sliding the wall anchor forward.
    if (gapMs > this.#maxLagMs) this.#wallAnchorMs += gapMs - this.#maxLagMs;
    const targetNs = this.#virtualAnchorNs + (wallMs - this.#wallAnchorMs) * 1e6 * this.#speed;
    if (targetNs > this.#scheduler.now) {
      const limitNs = sliced ? this.#scheduler.now + this.#maxSliceMs * 1e6 * this.#speed : Infinity;
      this.#scheduler.advanceTo(Math.min(targetNs, limitNs));
      return targetNs > limitNs;
    } else {
      // Someone advanced the scheduler by hand beyond the wall clock: carry on from there.
      this.#anchor();
      return false;
    }
  }
}

function checkedSpeed(speed: number): number {
  if (!(speed > 0) || !Number.isFinite(speed)) throw new RangeError(`speed ${speed} is not a positive number`);
  return speed;
}
