/**
 * Energy management, the public face: the contracted-power guard, the planner for deferrable
 * loads and its executor, and the inputs they need (prices on the slot grid, the solar forecast,
 * the base load, the co-generator). Plain TypeScript; the screens reach it through src/state.
 */
export { type ActionReason, ContractGuard, type EntryFacts, type GuardAction, type GuardedLoad, type GuardLoadStatus, type GuardLogEntry, type GuardSettings, type GuardStatus, type LoadSample, type LockReason, type NoticeKind, type PlanWhy, type SiteSample, type Zone } from './guard';
export { advanceStress, freePowerW, type GridConnection, italianConnection, isTripped, timeToTripS, type TripBand, TripIntegrator, tripTimeS, validateConnection } from './trip-curve';
export { type DeferrableLoad, type LoadPlan, type Plan, plan, type PlanInputs, type PlannedRun, type PlanOutcome, type PlanRequest, type SolverOptions, type StartedProgramme, type Strategy, type UnplacedCode } from './planner';
export { type PowerStep, profileDurationMs, profileEnergyWh, profileSlots, remainingProfile, type SlotProfile, validateProfile } from './profile';
export { type LoadReading, PlanRunner, planIntents, type RelayIntent, type RunnerOptions, type RunnerUpdate } from './executor';
export { alignPower, alignPrices, type BuiltInputs, buildPlanInputs, type InputSources, type PowerSlot, tariffPrices } from './inputs';
export { type BaseLoadPrediction, baseLoadHistory, blendWithNow, predictBaseLoad, type PredictorOptions, type SlotHistory } from './base-load';
export { type CogenDemand, type CogenLive, type Cogenerator, cogenForecast, cogenLiveFromMeter } from './cogenerator';
export { localClock, localToUtc } from './local-time';
export { type CachedForecast, FORECAST_DB, ForecastCache } from './solar/cache';
export { type FetchLike, ForecastError, type ForecastFailure } from './solar/fetch';
export { fetchForecastSolar, forecastSolarUrl, parseForecastSolar } from './solar/forecast-solar';
export { fetchOpenMeteo, openMeteoUrl, parseOpenMeteo } from './solar/open-meteo';
export { sunPosition, type SunPosition } from './solar/position';
export { type Irradiance, type PanelArray, planeOfArray, pvPowerW, type SolarSite, validateSite } from './solar/pv-model';
export { type SolarForecast, SolarForecastService, type SolarForecastOptions, type SolarSource } from './solar/service';
export { allowing, connectionOf, DEFAULT_ENERGY_CONFIG, DEFAULT_GUARD_PREFS, DEFAULT_LOAD_PREFS, type EnergyConfig, EnergyConfigError, type GuardPrefs, type LoadPrefs, loadPrefsOf, type SolarSourceKind, type StoredOverride, validateEnergyConfig, validateGuardPrefs, validateLoadPrefs } from './config';
export { CUSTOM_PROGRAMME, MAX_WINDOW_MS, presetOf, PROGRAMME_PRESETS, type ProgrammeForm, ProgrammeError, type ProgrammePreset, type ProgrammeProblem, type ProgrammeRequest, programmeRequest, STRATEGIES } from './programmes';
export { type CommandOrigin, type CommandProblem, EnergyManager, isSwitchableLoad, type LiveMeter, type ManagerOptions, type RelaySwitch, type SiteMeter, type StepResult, type SwitchAnswer } from './manager';
export { inputsFrom, type LedgerSlot, meterHistory, solarSiteOf } from './site-inputs';
export { type Described, describeEntry, entryText, type Wording } from './describe';
