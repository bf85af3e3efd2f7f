/**
 * Wall-tablet mode: the whole screen, kept awake (Screen Wake Lock), dimmed at night until it is
 * touched. Browsers ask for a user gesture before going full screen, so `enter` is called from a
 * button; the wake lock is taken again whenever the page becomes visible, as the API requires.
 */
import { inDimmingWindow, prefs } from './prefs.svelte';

/** How long a touch wakes a dimmed screen, ms. */
const WAKE_MS = 60_000;

export class WallMode {
  active = $state(false);
  wakeLockHeld = $state(false);
  dimmed = $state(false);
  problem = $state<string | undefined>(undefined);
  #lock: WakeLockSentinel | undefined;
  #lastTouch = Date.now();
  #timer: ReturnType<typeof setInterval> | undefined;

  get wakeLockSupported(): boolean {
    return typeof navigator !== 'undefined' && 'wakeLock' in navigator;
  }

  /** Starts checking the dimming window; call once when the app mounts. */
  init(): () => void {
    const visible = () => {
      if (document.visibilityState === 'visible' && this.active) void this.#acquire();
    };
    const touched = () => this.touch();
    document.addEventListener('visibilitychange', visible);
    document.addEventListener('pointerdown', touched, { capture: true });
    document.addEventListener('keydown', touched, { capture: true });
    this.#timer = setInterval(() => this.#updateDim(), 15_000);
    this.#updateDim();
    return () => {
      document.removeEventListener('visibilitychange', visible);
      document.removeEventListener('pointerdown', touched, { capture: true });
      document.removeEventListener('keydown', touched, { capture: true });
      clearInterval(this.#timer);
    };
  }

  async enter(): Promise<void> {
    this.problem = undefined;
    this.active = true;
    try {
      if (!document.fullscreenElement) await document.documentElement.requestFullscreen?.();
    } catch {
      this.problem = 'full screen was refused by the browser';
    }
    await this.#acquire();
  }

  async leave(): Promise<void> {
    this.active = false;
    await this.#lock?.release().catch(() => undefined);
    this.#lock = undefined;
    this.wakeLockHeld = false;
    if (document.fullscreenElement) await document.exitFullscreen().catch(() => undefined);
  }

  /** A touch: the dimmed screen wakes for a minute. */
  touch(): void {
    this.#lastTouch = Date.now();
    if (this.dimmed) this.dimmed = false;
  }

  #updateDim(): void {
    this.dimmed = inDimmingWindow(prefs.dimming, new Date()) && Date.now() - this.#lastTouch > WAKE_MS;
  }

  async #acquire(): Promise<void> {
    if (!this.wakeLockSupported) {
      this.problem = 'this browser cannot keep the screen awake (no Screen Wake Lock)';
      return;
    }
    try {
      this.#lock = await navigator.wakeLock.request('screen');
      this.wakeLockHeld = true;
      this.#lock.addEventListener('release', () => (this.wakeLockHeld = false));
    } catch {
      this.wakeLockHeld = false;
      this.problem = 'the screen could not be kept awake (battery saver?)';
    }
  }
}

export const wall = new WallMode();
