import { describe, expect, it } from 'vitest';
import { EventSource } from './event-source';

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('EventSource', () => {
  it('makes the producer wait while the reader lags, and go on as it reads', async () => {
    const source = new EventSource<number>(() => undefined, 2);
    source.emit(1);
    source.emit(2);
    let roomy = false;
    void source.room().then(() => (roomy = true));
    await tick();
    expect(roomy).toBe(false);
    const reader = source.stream.getReader();
    expect(await reader.read()).toEqual({ value: 1, done: false });
    await tick();
    expect(roomy).toBe(true);
  });

  it('never holds an event back, and lets the producer go when closing or cancelled', async () => {
    let cancelled = false;
    const source = new EventSource<number>(() => (cancelled = true), 1);
    for (let i = 0; i < 5; i++) source.emit(i); // over the mark: still queued
    const waiting = source.room();
    source.unblock();
    await waiting;
    const reader = source.stream.getReader();
    const got: number[] = [];
    for (let i = 0; i < 5; i++) got.push((await reader.read()).value as number);
    expect(got).toEqual([0, 1, 2, 3, 4]);
    await reader.cancel();
    expect(cancelled).toBe(true);
    await source.room();
  });
});
