/**
 * ENTSO-E's bidding zones, apart from its XML reader: the settings and the price service name the
 * zones on the first screen, and fast-xml-parser loads only when ENTSO-E prices are fetched.
 */
import { EU_DAY_AHEAD_PUBLICATION, type PriceProvider } from './provider';

export const ENTSOE_NAME = 'ENTSO-E';

/** Bidding zones and their EIC codes (the in_Domain and out_Domain of A44), the Italian ones included. */
export const ENTSOE_ZONES: Readonly<Record<string, string>> = {
  AT: '10YAT-APG------L',
  BE: '10YBE----------2',
  CH: '10YCH-SWISSGRIDZ',
  CZ: '10YCZ-CEPS-----N',
  'DE-LU': '10Y1001A1001A82H',
  DK1: '10YDK-1--------W',
  DK2: '10YDK-2--------M',
  EE: '10Y1001A1001A39I',
  ES: '10YES-REE------0',
  FI: '10YFI-1--------U',
  FR: '10YFR-RTE------C',
  'IT-North': '10Y1001A1001A73I',
  'IT-Centre-North': '10Y1001A1001A70O',
  'IT-Centre-South': '10Y1001A1001A71M',
  'IT-South': '10Y1001A1001A788',
  'IT-Calabria': '10Y1001C--00096J',
  'IT-Sicily': '10Y1001A1001A75E',
  'IT-Sardinia': '10Y1001A1001A74G',
  LT: '10YLT-1001A0008Q',
  LV: '10YLV-1001A00074',
  NL: '10YNL----------L',
  NO1: '10YNO-1--------2',
  NO2: '10YNO-2--------T',
  PL: '10YPL-AREA-----S',
  PT: '10YPT-REN------W',
  SE3: '10Y1001A1001A46L',
  SE4: '10Y1001A1001A47J',
  SI: '10YSI-ELES-----O',
};

/** What the provider says of itself, for one bidding zone: the adapter and its lazy stand-in share it. */
export function entsoeInfo(eic: string): Pick<PriceProvider, 'label' | 'sourceKey' | 'currency' | 'publication' | 'history'> {
  return { label: entsoeLabel(eic), sourceKey: `entsoe:${eic}`, currency: 'EUR', publication: EU_DAY_AHEAD_PUBLICATION, history: true };
}

/** "ENTSO-E (IT-North)", or the EIC itself for a zone not in the list. */
export function entsoeLabel(eic: string): string {
  const zone = Object.entries(ENTSOE_ZONES).find(([, code]) => code === eic)?.[0] ?? eic;
  return `${ENTSOE_NAME} (${zone})`;
}
