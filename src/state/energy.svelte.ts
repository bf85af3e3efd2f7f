/**
 * What the screens know of the energy manager, and the clock and storage it lacks: the guard runs
 * on every poll cycle from the session's live readings (src/lib/energy/manager.ts turns its
 * actions into relay commands), the plan's inputs are gathered in the background (prices of the
 * tariff, the solar forecast for the site's panels, the base load predicted from the history),
 * and the settings (trip curve, per-load preferences, planned runs, overrides) are saved with the
 * site's history.
 */
import type { Historian } from '../lib/aggregator/historian';
import { type BaseLoadPrediction, baseLoadHistory, blendWithNow, predictBaseLoad } from '../lib/energy/base-load';
import { DEFAULT_ENERGY_CONFIG, type EnergyConfig, type GuardPrefs, type LoadPrefs, loadPrefsOf, validateEnergyConfig, validateGuardPrefs, validateLoadPrefs } from '../lib/energy/config';
import { entryText, type Wording } from '../lib/energy/describe';
import type { GuardLogEntry, GuardStatus } from '../lib/energy/guard';
import type { GridConnection } from '../lib/energy/trip-curve';
import { buildPlanInputs, tariffPrices } from '../lib/energy/inputs';
import { type CommandProblem, EnergyManager, isSwitchableLoad, type LiveMeter, type RelaySwitch, type SiteMeter, type SwitchAnswer } from '../lib/energy/manager';
import type { LoadPlan, Plan, PlanInputs, PlannedRun } from '../lib/energy/planner';
import { MAX_WINDOW_MS, type ProgrammeForm, type ProgrammeRequest, programmeRequest } from '../lib/energy/programmes';
import { meterHistory, solarSiteOf } from '../lib/energy/site-inputs';
import { ForecastCache } from '../lib/energy/solar/cache';
import type { FetchLike } from '../lib/energy/solar/fetch';
import { type SolarForecast, SolarForecastService } from '../lib/energy/solar/service';
import { errorMessage } from '../lib/errors';
import { formatDuration } from '../lib/format/duration';
import { formatPower } from '../lib/format/power';
import { translate } from '../lib/i18n/translate';
import type { SiteSettings } from '../lib/settings/site-settings';
import { readSlotEnergy } from '../lib/store/queries';
import type { MeterInfo } from '../lib/store/schema';
import { type TariffSlot, tariffSlots } from '../lib/tariff/price-service';
import { SLOT_MS, slotStart } from '../lib/tariff/slot';
import type { SiteSettingsState } from './site-settings.svelte';

/** What the energy manager needs of the bus session. */
export interface EnergyLink {
  readonly historian: Historian;
  readonly settings: SiteSettingsState;
  /** A RELAY command to a meter, answered by its ACK (the aggregator's). */
  readonly switchRelay: RelaySwitch;
  readonly registry: () => readonly MeterInfo[];
  readonly live: () => readonly LiveMeter[];
  /** The site's import now, W (the grid meter, else consumption less generation). */
  readonly gridW: () => number;
  /** The poll period: the guard steps once per cycle. */
  readonly intervalMs: () => number;
  /** The tariff's slots with what is known of the market (PriceService.tariffSlots, once the app has one). */
  readonly prices?: (from: number, to: number) => Promise<TariffSlot[]>;
  readonly fetch?: FetchLike;
  readonly now?: () => number;
}

/** Why a run cannot be planned on this load (the form says it in the screen's language). */
export class RunRefused extends Error {
  override readonly name = 'RunRefused';
  constructor(readonly reason: 'not-load' | 'unmanaged' | 'busy') {
    super(reason === 'not-load' ? 'only loads run planned programmes' : reason === 'unmanaged' ? 'the energy manager may not switch this load' : 'this load already has a planned run');
  }
}

export type ProgrammeStatus = 'pending' | 'planned' | 'running' | 'unplaced' | 'done' | 'missed';

export interface ProgrammeView {
  readonly request: ProgrammeRequest;
  readonly name: string;
  readonly status: ProgrammeStatus;
  readonly runs: readonly PlannedRun[];
  readonly plan: LoadPlan | undefined;
}

export interface InputsInfo {
  readonly at: number;
  readonly tariff: string;
  readonly currency: string;
  /** Slots of the horizon priced at the tariff's fallback (no market price known yet), of `slots`. */
  readonly fallbackSlots: number;
  readonly slots: number;
  readonly solar: { readonly state: 'none' } | { readonly state: 'fresh' | 'cached'; readonly fetchedAt: number; readonly wh: number; readonly error?: string } | { readonly state: 'error'; readonly error: string };
  /** Slots of the base load by where their figure came from. */
  readonly base: Readonly<Record<BaseLoadPrediction['source'][number], number>>;
  readonly notes: readonly string[];
}

const SETTINGS_KEY = 'energy';
/** The plan's inputs are gathered again this often (and at each new slot, and when the runs change). */
const INPUTS_EVERY_MS = 5 * 60_000;
/** Four weeks of history predict the base load. */
const HISTORY_MS = 28 * 86_400_000;
const PROBLEMS_KEPT = 10;

/** English wording, for the history log. */
function englishWording(names: (uid: string) => string, priority: (uid: string) => string): Wording {
  return {
    power: (w) => formatPower(w, 'en'),
    duration: (s) => formatDuration(s, 'en', 'never'),
    time: (ms) => new Date(ms).toLocaleTimeString('en', { hour: '2-digit', minute: '2-digit' }),
    load: names,
    priority,
    t: (key, params) => translate('en', key, params),
  };
}

export class EnergyState {
  config = $state.raw<EnergyConfig>(DEFAULT_ENERGY_CONFIG);
  status = $state.raw<GuardStatus | undefined>(undefined);
  log = $state.raw<readonly GuardLogEntry[]>([]);
  plan = $state.raw<Plan | undefined>(undefined);
  planError = $state<string | undefined>(undefined);
  replannedBecause = $state<string | undefined>(undefined);
  /** The inputs the plan was made with (prices per slot for the timeline). */
  planInputs = $state.raw<PlanInputs | undefined>(undefined);
  inputsInfo = $state.raw<InputsInfo | undefined>(undefined);
  inputsError = $state<string | undefined>(undefined);
  /** Switches that failed, newest first. */
  problems = $state.raw<readonly CommandProblem[]>([]);
  /** The registry's loads, as the manager sees them. */
  loads = $state.raw<readonly SiteMeter[]>([]);
  /** The grid connection the guard works with (contract and trip curve). */
  connection = $state.raw<GridConnection | undefined>(undefined);

  readonly #link: EnergyLink;
  readonly #manager: EnergyManager;
  readonly #now: () => number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running = false;
  #registry: readonly MeterInfo[] | undefined;
  #contractW: number;
  #inputsAt = -Infinity;
  #inputsSlot = -1;
  #inputsStale = true;
  #refreshing: Promise<void> | undefined;
  #solar: { key: string; service: SolarForecastService } | undefined;
  #cache: Promise<ForecastCache | undefined> | undefined;
  #lastLogEntry: GuardLogEntry | undefined;
  #saving: Promise<void> = Promise.resolve();

  private constructor(link: EnergyLink, config: EnergyConfig) {
    this.#link = link;
    this.#now = link.now ?? (() => Date.now());
    this.config = config;
    this.#contractW = link.settings.value.contractedPowerW;
    this.#manager = new EnergyManager({
      config,
      contractW: this.#contractW,
      switchRelay: link.switchRelay,
      now: this.#now,
      onLog: (entry) => this.#toHistory(entry),
      onProblem: (problem) => (this.problems = [problem, ...this.problems].slice(0, PROBLEMS_KEPT)),
    });
    this.#syncRegistry();
  }

  /** Reads the stored settings (a damaged copy is logged and replaced by the defaults). */
  static async load(link: EnergyLink): Promise<EnergyState> {
    let config = DEFAULT_ENERGY_CONFIG;
    const stored = await link.historian.db.get('settings', SETTINGS_KEY).catch(() => undefined);
    if (stored !== undefined) {
      try {
        config = validateEnergyConfig(stored);
      } catch (error) {
        link.historian.log('warning', 'energy-settings-damaged', `the energy settings were damaged and were reset: ${errorMessage(error)}`);
      }
    }
    return new EnergyState(link, config);
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#schedule();
  }

  stop(): void {
    this.#running = false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  get currency(): string {
    return this.#link.settings.value.tariff.currency;
  }

  nameOf(uid: string): string {
    return this.#manager.meter(uid)?.name ?? this.#link.registry().find((m) => m.uid === uid)?.name ?? uid;
  }

  priorityOf(uid: string): number | undefined {
    return this.#link.registry().find((m) => m.uid === uid)?.priority;
  }

  loadPrefs(uid: string): LoadPrefs {
    return loadPrefsOf(this.config, uid);
  }

  /** The last action on a load that the guard shed, for its reason. */
  shedEntry(uid: string): GuardLogEntry | undefined {
    return this.log.findLast((e) => e.kind === 'action' && e.loadId === uid && !e.on && (e.reason === 'shed' || e.reason === 'emergency-shed'));
  }

  programmes(): ProgrammeView[] {
    const plan = this.plan;
    return this.config.programmes.map((request) => {
      const lp = plan?.loads.find((l) => l.loadId === request.id);
      const status: ProgrammeStatus = request.ended ? request.ended.how : lp ? lp.status : 'pending';
      return { request, name: this.nameOf(request.uid), status, runs: lp?.runs ?? [], plan: lp };
    });
  }

  /** A switch from a tile: sent now, and held against the guard and the plans for `minutes`. */
  switchByHand(node: number, on: boolean, minutes = this.config.guard.manualHoldMinutes): Promise<SwitchAnswer> {
    const uid = this.#link.registry().find((m) => m.node === node)?.uid;
    const result = this.#manager.switchByHand(node, uid, on, this.#now() + minutes * 60_000);
    void result.finally(() => this.#mirror()).catch(() => undefined);
    this.#mirror();
    return result;
  }

  override(uid: string, on: boolean, minutes: number): Promise<void> {
    this.#manager.override(uid, on, this.#now() + minutes * 60_000);
    this.#mirror();
    return this.#persistOverrides();
  }

  clearOverride(uid: string): Promise<void> {
    this.#manager.clearOverride(uid);
    this.#mirror();
    return this.#persistOverrides();
  }

  /** Plans a run; throws ProgrammeError or RunRefused saying what is wrong, and then nothing is saved. */
  async addProgramme(form: Omit<ProgrammeForm, 'meterInterruptible'>): Promise<ProgrammeRequest> {
    const meter = this.#link.registry().find((m) => m.uid === form.uid);
    if (!meter || !isSwitchableLoad(meter)) throw new RunRefused('not-load');
    if (!this.loadPrefs(meter.uid).managed) throw new RunRefused('unmanaged');
    if (this.config.programmes.some((p) => p.uid === meter.uid && !p.ended)) throw new RunRefused('busy');
    const now = this.#now();
    const request = programmeRequest({ ...form, meterInterruptible: meter.interruptible }, now, `run-${now.toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`);
    // Runs that ended more than a day ago are dropped as new ones come.
    const kept = this.config.programmes.filter((p) => !p.ended || now - p.ended.at < 86_400_000);
    await this.#save({ ...this.config, programmes: [...kept, request] });
    this.#inputsStale = true;
    this.#kick();
    return request;
  }

  async removeProgramme(id: string): Promise<void> {
    await this.#save({ ...this.config, programmes: this.config.programmes.filter((p) => p.id !== id) });
    this.#kick();
  }

  async saveGuard(prefs: Partial<GuardPrefs>): Promise<void> {
    await this.#save({ ...this.config, guard: validateGuardPrefs({ ...this.config.guard, ...prefs }) });
  }

  async saveLoad(uid: string, prefs: Partial<LoadPrefs>): Promise<void> {
    const next = validateLoadPrefs({ ...this.loadPrefs(uid), ...prefs }, `loads.${uid}`);
    await this.#save({ ...this.config, loads: { ...this.config.loads, [uid]: next } });
  }

  async #save(config: EnergyConfig): Promise<void> {
    const checked = validateEnergyConfig(config);
    const historian = this.#link.historian;
    historian.putSetting(SETTINGS_KEY, checked);
    const result = await historian.flush();
    if (!result.ok) throw new Error(`the energy settings could not be saved: ${result.error ?? 'unknown error'}`);
    this.config = checked;
    this.#manager.setConfig(checked);
    this.#mirror();
  }

  #persistOverrides(): Promise<void> {
    const config = { ...this.config, programmes: this.#manager.config.programmes, overrides: this.#manager.overrides() };
    this.#saving = this.#saving.then(() => this.#save(config)).catch((error: unknown) => this.#link.historian.log('warning', 'energy-settings-not-saved', errorMessage(error)));
    return this.#saving;
  }

  #schedule(): void {
    if (!this.#running) return;
    this.#timer = setTimeout(() => {
      try {
        this.#tick();
      } finally {
        this.#schedule();
      }
    }, Math.max(100, this.#link.intervalMs()));
  }

  /** A step now (a run was added): no waiting for the next cycle to show its plan. */
  #kick(): void {
    if (this.#running) this.#tick();
  }

  #tick(): void {
    const now = this.#now();
    this.#syncRegistry();
    const contract = this.#link.settings.value.contractedPowerW;
    if (contract !== this.#contractW) {
      this.#contractW = contract;
      this.#manager.setContract(contract);
      this.#inputsStale = true;
    }
    const result = this.#manager.step(now, this.#link.live(), this.#link.gridW());
    if (result.ended.length > 0 || result.overridesChanged) void this.#persistOverrides();
    this.#mirror();
    const active = this.config.programmes.some((p) => !p.ended);
    if (active && (this.#inputsStale || slotStart(now) !== this.#inputsSlot || now - this.#inputsAt >= INPUTS_EVERY_MS)) void this.#refreshInputs();
  }

  #syncRegistry(): void {
    const registry = this.#link.registry();
    if (registry === this.#registry) return;
    this.#registry = registry;
    const meters: SiteMeter[] = registry.map((m) => ({ uid: m.uid, node: m.node, name: m.name, kind: m.kind, priority: m.priority, gridPoint: m.gridPoint, interruptible: m.interruptible }));
    this.#manager.setMeters(meters);
    this.loads = meters.filter(isSwitchableLoad);
  }

  #mirror(): void {
    const m = this.#manager;
    this.status = m.status();
    if (m.guard.connection !== this.connection) this.connection = m.guard.connection;
    const log = m.guard.log;
    const last = log[log.length - 1];
    if (last !== this.#lastLogEntry) {
      this.#lastLogEntry = last;
      this.log = [...log];
    }
    if (m.plan !== this.plan) this.plan = m.plan;
    this.planError = m.planError;
    this.replannedBecause = m.replannedBecause;
    if (m.config !== this.config && m.config.programmes !== this.config.programmes) this.config = { ...this.config, programmes: m.config.programmes };
  }

  #toHistory(entry: GuardLogEntry): void {
    const text = entryText(
      entry,
      englishWording(
        (uid) => this.nameOf(uid),
        (uid) => String(this.priorityOf(uid) ?? '?'),
      ),
    );
    const level = entry.kind === 'action' || entry.kind === 'override-set' || entry.kind === 'override-ended' || entry.kind === 'back-under' ? 'info' : 'warning';
    this.#link.historian.log(level, `energy-${entry.kind === 'action' ? entry.reason : entry.kind}`, text, entry.loadId);
  }

  /** Gathers prices, the solar forecast and the base load for the plan; one at a time. */
  #refreshInputs(): Promise<void> {
    this.#refreshing ??= this.#gather().finally(() => (this.#refreshing = undefined));
    return this.#refreshing;
  }

  async #gather(): Promise<void> {
    const now = this.#now();
    this.#inputsStale = false;
    this.#inputsAt = now;
    this.#inputsSlot = slotStart(now);
    const active = this.config.programmes.filter((p) => !p.ended);
    if (active.length === 0) return;
    const settings = this.#link.settings.value;
    const start = slotStart(now);
    const lastEnd = Math.max(...active.map((p) => p.latestEnd));
    const until = Math.min(start + MAX_WINDOW_MS + SLOT_MS, Math.max(start + SLOT_MS, Math.ceil(lastEnd / SLOT_MS) * SLOT_MS));
    const count = Math.round((until - start) / SLOT_MS);
    try {
      const tariff = settings.tariff;
      const slots = this.#link.prices ? await this.#link.prices(start, until) : tariffSlots(tariff, [], start, until);
      const { prices, feedIn } = tariffPrices(slots);
      const solar = await this.#solarForecast(now, settings);
      const base = await this.#baseLoad(start, count, active.map((p) => p.uid), tariff.timeZone);
      const built = buildPlanInputs({ now, until, prices, feedIn, solar: solar.forecast?.slots ?? [], baseW: base.watts, importLimitW: settings.contractedPowerW });
      const solarWh = built.inputs.solarW.reduce((sum, w) => sum + (w * SLOT_MS) / 3_600_000, 0);
      this.#manager.setInputs(built.inputs);
      this.planInputs = built.inputs;
      const sources = { weekday: 0, daily: 0, mean: 0, none: 0 };
      for (const s of base.source) sources[s]++;
      this.inputsInfo = {
        at: now,
        tariff: tariff.name,
        currency: tariff.currency,
        fallbackSlots: slots.filter((x) => x.rates.energySource === 'fallback' || x.rates.feedInSource === 'fallback').length,
        slots: slots.length,
        solar: solar.forecast
          ? { state: solar.forecast.fresh ? 'fresh' : 'cached', fetchedAt: solar.forecast.fetchedAt, wh: solarWh, ...(solar.forecast.error ? { error: solar.forecast.error } : {}) }
          : solar.error
            ? { state: 'error', error: solar.error }
            : { state: 'none' },
        base: sources,
        notes: built.notes,
      };
      this.inputsError = undefined;
      // The plan follows at once, not at the next cycle.
      this.#kick();
    } catch (error) {
      this.inputsError = errorMessage(error);
    }
  }

  async #solarForecast(now: number, settings: SiteSettings): Promise<{ forecast?: SolarForecast; error?: string }> {
    const location = settings.location;
    if (!location) return {};
    const site = solarSiteOf(location);
    const key = `${this.config.solarSource}:${JSON.stringify(site)}`;
    if (this.#solar?.key !== key) {
      this.#cache ??= ForecastCache.open().catch(() => undefined);
      const cache = await this.#cache;
      const fetchFn: FetchLike = this.#link.fetch ?? ((url, init) => globalThis.fetch(url, init));
      this.#solar = { key, service: new SolarForecastService({ site, source: { kind: this.config.solarSource }, fetch: fetchFn, ...(cache ? { cache } : {}) }) };
    }
    try {
      return { forecast: await this.#solar.service.get(now) };
    } catch (error) {
      return { error: errorMessage(error) };
    }
  }

  /**
   * The base load from the ledger: the site's consumption (the grid meter plus generation, or
   * the sum of the loads) less the meters that run planned programmes, blended with the power now.
   */
  async #baseLoad(start: number, count: number, deferrableUids: readonly string[], timeZone: string): Promise<BaseLoadPrediction> {
    const registry = this.#link.registry();
    const from = start - HISTORY_MS;
    const historyCount = HISTORY_MS / SLOT_MS;
    const grid = registry.find((m) => m.gridPoint);
    const loads = registry.filter((m) => !m.gridPoint && (m.kind === 'load' || m.kind === 'storage'));
    const generators = registry.filter((m) => !m.gridPoint && (m.kind === 'generator' || m.kind === 'cogenerator'));
    const uids = registry.map((m) => m.uid);
    const ledger = await readSlotEnergy(this.#link.historian.db, uids, from, start);
    let site = meterHistory(ledger, new Set(loads.map((m) => m.uid)), from, historyCount);
    if (grid) {
      const net = meterHistory(ledger, new Set([grid.uid]), from, historyCount);
      const gen = meterHistory(ledger, new Set(generators.map((m) => m.uid)), from, historyCount);
      site = { start: from, watts: net.watts.map((w, i) => (w === null ? null : w - (gen.watts[i] ?? 0))) };
    }
    const deferrable = [...new Set(deferrableUids)].map((uid) => meterHistory(ledger, new Set([uid]), from, historyCount));
    const prediction = predictBaseLoad(baseLoadHistory(site, deferrable), start, count, { timeZone });
    const live = this.#link.live();
    const byUid = new Map(live.filter((l) => l.uid && !l.silent).map((l) => [l.uid as string, l.watts]));
    const nowW = grid ? this.#link.gridW() + generators.reduce((s, m) => s - Math.min(0, byUid.get(m.uid) ?? 0), 0) : loads.reduce((s, m) => s + Math.max(0, byUid.get(m.uid) ?? 0), 0);
    const deferrableNow = deferrableUids.reduce((s, uid) => s + Math.max(0, byUid.get(uid) ?? 0), 0);
    return { watts: blendWithNow(prediction.watts, Math.max(0, nowW - deferrableNow)), source: prediction.source };
  }
}
