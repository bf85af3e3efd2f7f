/**
 * Prices, tariffs and the bill: the public API the Bill screen, the settings screen and the
 * energy planner use. Plain TypeScript, no Svelte; docs/billing.md explains the model.
 */
export { SLOT_MS, slotStart, type PriceSlot } from './slot';
export {
  addDays,
  isValidTimeZone,
  localDateOf,
  localDateTime,
  localDayRange,
  localDaySlotStarts,
  localMonthOf,
  localMonthRange,
  type LocalDate,
  type LocalDateTime,
  type LocalMonth,
} from './zone';
export { easterSunday, HOLIDAY_CALENDARS, isHoliday, italianHolidays, type HolidayCalendar } from './holidays';
export { bandOf, ITALIAN_F123, SINGLE_BAND, type BandRule, type BandSchedule } from './bands';
export {
  BILLING_PERIOD_MONTHS,
  importPricePerKwh,
  flatTariff,
  ITALIAN_F123_EXAMPLE,
  ITALIAN_INDEXED_EXAMPLE,
  localTimeZone,
  needsSpotPrices,
  TARIFF_PRESETS,
  slotRates,
  validateTariff,
  type BandedPrice,
  type EnergyPrice,
  type FeedIn,
  type RateSource,
  type SlotRates,
  type Tariff,
  type TariffPreset,
} from './tariff';
export { billingPeriodAt, billingPeriodOfMonth, type BillingPeriod } from './period';
export {
  BillingError,
  billMeters,
  computeBill,
  METER_ROLES,
  UNMETERED_ID,
  type BandUse,
  type Bill,
  type BillInput,
  type BillLine,
  type BillLineKind,
  type BillMeter,
  type CostCentre,
  type DayTotal,
  type MeterRole,
  type MonthTotal,
  type Projection,
  type SlotCentre,
  type SlotEnergy,
  type SlotLine,
} from './billing';
export { billLinesCsv, billSlotsCsv } from './bill-csv';
export { formatCents, formatKwh } from './money';
export { isPriceError, PriceError, type PriceErrorKind } from './errors';
export { issuesMessage, type Validated, type ValidationIssue } from './validation';
export type { FetchLike, PriceUnit } from './providers/common';
export type { FileImportOptions } from './providers/file';
export type { PriceProvider } from './providers/provider';
export { ENERGY_CHARTS_ZONES } from './providers/energy-charts';
export { ENTSOE_ZONES } from './providers/entsoe-zones';
export { AWATTAR_COUNTRIES } from './providers/awattar';
export { OCTOPUS_REGIONS } from './providers/octopus';
export { NORD_POOL_AREAS, NORD_POOL_CURRENCIES } from './providers/nord-pool';
export { createProvider, PRICE_PROVIDERS, validateSourceConfig, type PriceProviderId, type PriceSourceConfig } from './providers/sources';
export { memoryPriceStore, openPriceStore, PRICE_DB_NAME, PriceStoreError, type PriceStore, type SourceMeta } from './price-store';
export { CostCache, monthChunks, rangeCosts, rangePeriod, SETTLED_AFTER_MS, type RangeCostQuery, type RangeCosts } from './costs';
export {
  bandChoiceOf,
  formBands,
  formToSource,
  formToTariff,
  scheduleOf,
  sourceToForm,
  tariffToForm,
  type BandChoice,
  type BandedFields,
  type FormNumber,
  type SourceChoice,
  type SourceForm,
  type TariffForm,
} from './form';
export { FILE_SOURCE_KEY, sourceCurrency } from './providers/sources';
export { PriceService, systemClock, tariffSlots, type Clock, type PriceServiceOptions, type PriceState, type PriceStatus, type TariffSlot } from './price-service';
