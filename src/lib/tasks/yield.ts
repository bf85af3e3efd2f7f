/**
 * Lets the page paint and answer input before going on: start-up opens the store, loads the
 * settings, starts polling and loads the energy manager, and done in one go that is a task long
 * enough to freeze a phone for a quarter of a second. `scheduler.yield()` (Chrome 129+) resumes
 * ahead of other queued work; elsewhere a zero-delay timer does.
 */
interface YieldingScheduler {
  yield(): Promise<void>;
}

export function yieldToPage(): Promise<void> {
  const scheduler = (globalThis as { scheduler?: Partial<YieldingScheduler> }).scheduler;
  if (typeof scheduler?.yield === 'function') return scheduler.yield();
  return new Promise((resolve) => setTimeout(resolve, 0));
}
