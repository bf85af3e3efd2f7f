/**
 * From irradiance to the power of a PV system (docs/energy-management.md §3):
 * - transposition of the horizontal irradiance to the plane of the panels with the Hay–Davies
 *   model: beam DNI·cos θ, diffuse split into a circumsolar part (weight A = DNI / I₀, the
 *   anisotropy index, following the beam's geometry) and an isotropic sky dome, plus the
 *   ground's reflection (albedo);
 * - reflection losses of the glass at a slant angle (ASHRAE incidence-angle modifier, b₀ = 0.05)
 *   on the beam and circumsolar parts;
 * - cell temperature by the Ross model (T_cell = T_air + k·G) and the module's power temperature
 *   coefficient;
 * - system losses (wiring, soiling, mismatch, inverter) as one factor, and the inverter's AC cap.
 */
import type { SunPosition } from './position';

const RAD = Math.PI / 180;

export interface PanelArray {
  /** Peak power of the modules, kWp. */
  readonly kwp: number;
  /** Angle from horizontal, degrees (0 flat, 90 a wall). */
  readonly tiltDeg: number;
  /** Facing, degrees from south: −90 east, 0 south, 90 west (the convention of Open-Meteo and Forecast.Solar). */
  readonly azimuthDeg: number;
  /** Everything between the modules' DC rating and the meter (default 0.86). */
  readonly systemFactor?: number;
  /** Power temperature coefficient, 1/K (default −0.0037, crystalline silicon). */
  readonly tempCoeffPerK?: number;
  /** Ross coefficient, K·m²/W (default 0.0342: on a roof, not so well cooled). */
  readonly rossK?: number;
  /** Ground reflectance (default 0.2). */
  readonly albedo?: number;
}

export interface SolarSite {
  readonly latitude: number;
  readonly longitude: number;
  readonly arrays: readonly PanelArray[];
  /** AC limit of the inverter(s), W (default: none). */
  readonly inverterW?: number;
}

export interface Irradiance {
  /** Global horizontal, W/m². */
  readonly ghi: number;
  /** Direct normal, W/m². */
  readonly dni: number;
  /** Diffuse horizontal, W/m². */
  readonly dhi: number;
  /** Air temperature, °C (default 20). */
  readonly airC?: number;
}

export interface PlaneIrradiance {
  /** What reaches the cells, W/m², after the incidence-angle losses. */
  readonly effective: number;
  readonly beam: number;
  readonly circumsolar: number;
  readonly isotropic: number;
  readonly ground: number;
  /** Angle of incidence of the beam, degrees. */
  readonly aoiDeg: number;
}

export function validateSite(site: SolarSite): void {
  if (!(Math.abs(site.latitude) <= 90) || !(Math.abs(site.longitude) <= 180)) throw new Error(`solar site: latitude ${site.latitude}, longitude ${site.longitude} are not on Earth`);
  if (site.arrays.length === 0) throw new Error('solar site: no panel arrays');
  for (const a of site.arrays) {
    if (!(a.kwp > 0)) throw new Error(`solar site: an array must have a positive peak power, got ${a.kwp} kWp`);
    if (!(a.tiltDeg >= 0 && a.tiltDeg <= 90)) throw new Error(`solar site: tilt must be 0–90°, got ${a.tiltDeg}`);
    if (!(a.azimuthDeg >= -180 && a.azimuthDeg <= 180)) throw new Error(`solar site: azimuth must be −180–180° from south, got ${a.azimuthDeg}`);
  }
}

export function planeOfArray(sun: SunPosition, array: PanelArray, irr: Irradiance): PlaneIrradiance {
  const tilt = array.tiltDeg * RAD;
  const panelCompass = (180 + array.azimuthDeg) * RAD;
  const zen = sun.zenithDeg * RAD;
  const cosZ = Math.cos(zen);
  const cosAoi = cosZ * Math.cos(tilt) + Math.sin(zen) * Math.sin(tilt) * Math.cos(sun.azimuthDeg * RAD - panelCompass);
  const up = cosZ > 0;
  const dni = Math.max(0, irr.dni);
  const dhi = Math.max(0, irr.dhi);
  const ghi = Math.max(0, irr.ghi);
  const beam = up ? dni * Math.max(0, cosAoi) : 0;
  const a = up ? Math.min(1, dni / sun.extraterrestrialW) : 0;
  const rb = up ? Math.max(0, cosAoi) / Math.max(cosZ, 0.01745) : 0;
  const circumsolar = dhi * a * rb;
  const isotropic = dhi * (1 - a) * ((1 + Math.cos(tilt)) / 2);
  const ground = ghi * (array.albedo ?? 0.2) * ((1 - Math.cos(tilt)) / 2);
  const iam = cosAoi > 0 ? Math.max(0, 1 - 0.05 * (1 / cosAoi - 1)) : 0;
  return { effective: (beam + circumsolar) * iam + isotropic + ground, beam, circumsolar, isotropic, ground, aoiDeg: Math.acos(Math.max(-1, Math.min(1, cosAoi))) / RAD };
}

/** AC power of the whole site for this sun and irradiance, W. */
export function pvPowerW(site: SolarSite, sun: SunPosition, irr: Irradiance): number {
  let total = 0;
  for (const array of site.arrays) {
    const g = planeOfArray(sun, array, irr).effective;
    const cellC = (irr.airC ?? 20) + (array.rossK ?? 0.0342) * g;
    const dc = array.kwp * g * (1 + (array.tempCoeffPerK ?? -0.0037) * (cellC - 25));
    total += Math.max(0, dc * (array.systemFactor ?? 0.86));
  }
  return Math.min(site.inverterW ?? Infinity, total);
}
