/**
 * Which command a reply answers. An acknowledging slcan firmware answers every command in order:
 * CR (done), BELL (refused), `z`/`Z` (frame queued), or a line of data (`Fxx`, `V…`). Matching
 * replies to commands first in, first out lets the driver say *what* the adapter refused ("frame
 * 0x204 refused: bus-off?") instead of a bare BELL. Nothing waits on a reply: an unanswered command
 * just expires, so a firmware that answers less than it should cannot stall anything.
 *
 * Commands sent before the firmware is known (the flush CR, `C`) may or may not be answered; they
 * are `maybe` entries followed by the `V` probe as a `sync` entry, whose answer (a line no other
 * command produces) clears every reply before it.
 */
import type { CanFrame } from '../frame';
import type { SlcanMessage } from './codec';

export type PendingCommand =
  | { readonly kind: 'maybe'; readonly text: string }
  | { readonly kind: 'sync' }
  | { readonly kind: 'config'; readonly text: string }
  | { readonly kind: 'status' }
  | { readonly kind: 'transmit'; readonly frame: CanFrame };

export type ReplyMatch =
  | { readonly kind: 'ok'; readonly command: PendingCommand }
  | { readonly kind: 'refused'; readonly command: PendingCommand }
  /** A reply nothing was waiting for, or one that does not fit the oldest command: the queue starts over. */
  | { readonly kind: 'unmatched' };

interface Entry {
  readonly command: PendingCommand;
  readonly at: number;
}

/** Milliseconds after which an unanswered command is given up on. */
export const REPLY_EXPIRY_MS = 2000;

export class ReplyTracker {
  #queue: Entry[] = [];
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  get pending(): number {
    return this.#queue.length;
  }

  /**
   * The probe's answer has not come yet: replies now may be stale, left in the adapter's buffer by
   * a session that closed the port before reading them (a CDC device keeps them).
   */
  get awaitingSync(): boolean {
    return this.#queue.some((e) => e.command.kind === 'sync');
  }

  sent(command: PendingCommand): void {
    this.#queue.push({ command, at: this.#now() });
  }

  /** Matches a reply message; undefined for messages that are not replies (frames, garbage). */
  reply(message: SlcanMessage): ReplyMatch | undefined {
    this.#expire();
    switch (message.kind) {
      case 'ok':
        return this.#take((c) => c.kind === 'config' || c.kind === 'transmit' || c.kind === 'maybe', 'ok');
      case 'tx-ok':
        return this.#take((c) => c.kind === 'transmit' || c.kind === 'maybe', 'ok');
      case 'error':
        return this.#take((c) => c.kind !== 'sync', 'refused');
      case 'status-flags':
        return this.#take((c) => c.kind === 'status' || c.kind === 'maybe', 'ok');
      case 'version':
      case 'invalid': {
        // The answer to V: every maybe before the sync point is settled, answered or not.
        const sync = this.#queue.findIndex((e) => e.command.kind === 'sync');
        if (sync < 0) return message.kind === 'version' ? { kind: 'unmatched' } : undefined;
        const entry = this.#queue[sync] as Entry;
        this.#queue.splice(0, sync + 1);
        return { kind: 'ok', command: entry.command };
      }
      default:
        return undefined;
    }
  }

  #take(fits: (command: PendingCommand) => boolean, kind: 'ok' | 'refused'): ReplyMatch {
    let head = this.#queue[0];
    // A maybe that got no answer must not swallow the answer of the sync it precedes.
    while (head && head.command.kind === 'maybe' && !fits(head.command)) {
      this.#queue.shift();
      head = this.#queue[0];
    }
    if (!head || !fits(head.command)) {
      this.#queue = this.#queue.filter((e) => e.command.kind === 'sync');
      return { kind: 'unmatched' };
    }
    this.#queue.shift();
    return { kind, command: head.command };
  }

  #expire(): void {
    const limit = this.#now() - REPLY_EXPIRY_MS;
    while (this.#queue[0] && this.#queue[0].at < limit) this.#queue.shift();
  }

  clear(): void {
    this.#queue = [];
  }
}
