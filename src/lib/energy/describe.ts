/**
 * The guard's log entries in people's words, in any language: each entry becomes a message key
 * and its parameters, from the entry's facts (the guard's own `detail` is English only).
 */
import type { MessageKey, MessageParams } from '../i18n/translate';
import type { GuardLogEntry, LockReason } from './guard';

/** How numbers, times and loads are written, in the screen's language. */
export interface Wording {
  power(watts: number): string;
  /** A span of time, from seconds (Infinity: never). */
  duration(seconds: number): string;
  /** A time of day. */
  time(ms: number): string;
  /** The load's name. */
  load(loadId: string): string;
  /** The load's priority as the user set it (1 = shed last). */
  priority(loadId: string): string;
  t(key: MessageKey, params?: MessageParams): string;
}

export interface Described {
  readonly key: MessageKey;
  readonly params: MessageParams;
}

const LOCK_KEYS: Readonly<Record<LockReason, MessageKey>> = {
  unmanaged: 'energy.lock.unmanaged',
  silent: 'energy.lock.silent',
  unresponsive: 'energy.lock.unresponsive',
  'forced-on': 'energy.lock.forced-on',
  'mid-cycle': 'energy.lock.mid-cycle',
  'min-on': 'energy.lock.min-on',
};

export function describeEntry(entry: GuardLogEntry, w: Wording): Described {
  const f = entry.facts;
  const load = entry.loadId === undefined ? '' : w.load(entry.loadId);
  const site = w.power(f.siteW ?? 0);
  const threshold = w.power(f.thresholdW ?? 0);
  const power = w.power(f.loadW ?? 0);
  const trip = w.duration(f.tripS ?? Infinity);
  const until = f.until === undefined ? '' : w.time(f.until);
  const on = f.on === true;
  if (entry.kind === 'action') {
    switch (entry.reason) {
      case 'shed':
        return { key: 'energy.log.shed', params: { load, site, threshold, power, trip, priority: w.priority(entry.loadId) } };
      case 'emergency-shed':
        return { key: 'energy.log.emergency', params: { load, site, trip, power, others: f.others ?? 0 } };
      case 'restore':
        return { key: 'energy.log.restore', params: { load, site, threshold, power } };
      case 'start': {
        const plan = f.plan;
        return plan?.from !== undefined && plan.to !== undefined
          ? { key: 'energy.log.start', params: { load, site, threshold, power, from: w.time(plan.from), to: w.time(plan.to) } }
          : { key: 'energy.log.startPlain', params: { load, site, threshold, power } };
      }
      case 'stop': {
        const plan = f.plan;
        if (plan?.kind === 'wait' && plan.from !== undefined) return { key: 'energy.log.stopWait', params: { load, from: w.time(plan.from) } };
        if (plan?.kind === 'pause' && plan.from !== undefined) return { key: 'energy.log.stopPause', params: { load, from: w.time(plan.from) } };
        if (plan?.kind === 'unplaced') return { key: 'energy.log.stopUnplaced', params: { load, note: plan.note ?? '' } };
        if (plan?.kind === 'done') return { key: 'energy.log.stopDone', params: { load } };
        return { key: 'energy.log.stopPast', params: { load } };
      }
      case 'override':
        if (f.by === 'end') return { key: 'energy.log.overrideOver', params: { load } };
        if (f.by === 'user' && f.until !== undefined) return { key: on ? 'energy.log.byHandOn' : 'energy.log.byHandOff', params: { load, until } };
        return { key: on ? 'energy.log.forcedOn' : 'energy.log.forcedOff', params: { load, until } };
    }
  }
  switch (entry.kind) {
    case 'overload':
      return { key: 'energy.log.overload', params: { site, threshold, trip } };
    case 'back-under':
      return { key: 'energy.log.backUnder', params: { site, threshold } };
    case 'cannot-shed': {
      const locked = (f.locked ?? []).map((l) => w.t(LOCK_KEYS[l.why], { load: w.load(l.loadId), left: w.duration(l.leftS ?? 0) }));
      return { key: 'energy.log.cannotShed', params: { site, threshold, locked: locked.length > 0 ? locked.join('; ') : w.t('energy.lock.none') } };
    }
    case 'no-ack':
      return { key: on ? 'energy.log.noAckOn' : 'energy.log.noAckOff', params: { load, waited: w.duration(f.waitedS ?? 0), hold: w.duration(f.holdS ?? 0) } };
    case 'refused':
      return { key: on ? 'energy.log.refusedOn' : 'energy.log.refusedOff', params: { load, answer: f.answer ?? '', hold: w.duration(f.holdS ?? 0) } };
    case 'external-switch':
      return { key: on ? 'energy.log.externalOn' : 'energy.log.externalOff', params: { load } };
    case 'override-set':
      return { key: on ? 'energy.log.overrideOn' : 'energy.log.overrideOff', params: { load, until } };
    case 'override-ended':
      return { key: 'energy.log.overrideEnded', params: { load } };
    case 'model-trip':
      return { key: 'energy.log.modelTrip', params: { site } };
    case 'clock':
      return { key: 'energy.log.clock', params: {} };
    case 'limit':
      return { key: 'energy.log.limit', params: { contract: w.power(f.contractW ?? 0), free: w.power(f.freeW ?? 0) } };
  }
}

export function entryText(entry: GuardLogEntry, w: Wording): string {
  const d = describeEntry(entry, w);
  return w.t(d.key, d.params);
}
