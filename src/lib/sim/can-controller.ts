/**
 * Fault confinement of an adapter's CAN controller (ISO 11898-1 §12): the transmit and receive
 * error counters and the state they put the controller in. The virtual bus delivers every frame,
 * so errors are injected by tests (a noisy cable, a shorted bus); the emulated firmwares report the
 * counters and states the way their real counterparts do.
 */
import type { BusErrorKind, BusState } from '../can/transport';

/** Bit times a bus-off controller must see recessive before it may rejoin: 128 × 11. */
export const BUS_OFF_RECOVERY_BITS = 128 * 11;

export interface ControllerListener {
  state?(state: BusState, tec: number, rec: number): void;
  busError?(kind: BusErrorKind, tec: number, rec: number): void;
}

export class EmulatedCanController {
  #tec = 0;
  #rec = 0;
  #state: BusState = 'stopped';
  readonly #listeners = new Set<ControllerListener>();

  get state(): BusState {
    return this.#state;
  }
  get tec(): number {
    return this.#tec;
  }
  get rec(): number {
    return this.#rec;
  }
  /** On the bus and allowed to take part (not stopped, not bus-off). */
  get active(): boolean {
    return this.#state !== 'stopped' && this.#state !== 'bus-off';
  }

  listen(listener: ControllerListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Joins the bus with clear counters. */
  start(): void {
    this.#tec = 0;
    this.#rec = 0;
    this.#set('error-active');
  }

  stop(): void {
    this.#tec = 0;
    this.#rec = 0;
    this.#set('stopped');
  }

  /** `count` errors while this controller transmitted: TEC + 8 each (bit, form, ACK errors). */
  transmitErrors(count: number, kind: BusErrorKind = 'bit'): void {
    for (let i = 0; i < count && this.active; i++) {
      this.#tec += 8;
      this.#emitError(kind);
      this.#update();
    }
  }

  /** `count` errors while receiving: REC + 1 each (CRC, stuff, form errors of other nodes' frames). */
  receiveErrors(count: number, kind: BusErrorKind = 'crc'): void {
    for (let i = 0; i < count && this.active; i++) {
      if (this.#rec < 128) this.#rec += 1;
      this.#emitError(kind);
      this.#update();
    }
  }

  transmitted(): void {
    if (!this.active) return;
    if (this.#tec > 0) {
      this.#tec--;
      this.#update();
    }
  }

  received(): void {
    if (!this.active) return;
    if (this.#rec > 127) this.#rec = 120;
    else if (this.#rec > 0) this.#rec--;
    else return;
    this.#update();
  }

  /** Leaves bus-off after the recovery sequence: counters clear, error active again. */
  recover(): void {
    if (this.#state !== 'bus-off') return;
    this.#tec = 0;
    this.#rec = 0;
    this.#set('error-active');
  }

  #update(): void {
    if (this.#state === 'stopped' || this.#state === 'bus-off') return;
    const worst = Math.max(this.#tec, this.#rec);
    const next: BusState = this.#tec > 255 ? 'bus-off' : worst >= 128 ? 'error-passive' : worst >= 96 ? 'error-warning' : 'error-active';
    if (next === 'bus-off') this.#tec = 256;
    this.#set(next);
  }

  #set(state: BusState): void {
    if (state === this.#state) return;
    this.#state = state;
    for (const l of this.#listeners) l.state?.(state, this.#tec, this.#rec);
  }

  #emitError(kind: BusErrorKind): void {
    for (const l of this.#listeners) l.busError?.(kind, this.#tec, this.#rec);
  }
}
