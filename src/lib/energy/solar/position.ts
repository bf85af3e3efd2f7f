/**
 * Where the sun is: NOAA's solar position algorithm (the one behind its solar calculator,
 * after Meeus), good to about 0.01° for years 1900–2100 — far below what a weather model's
 * irradiance can tell. Atmospheric refraction is left out: it moves the sun by half a degree
 * only at the horizon, where there is little to convert.
 */
const RAD = Math.PI / 180;
const DEG = 180 / Math.PI;

export interface SunPosition {
  /** Angle from the vertical, degrees (> 90 below the horizon). */
  readonly zenithDeg: number;
  /** Compass bearing, degrees clockwise from north. */
  readonly azimuthDeg: number;
  /** Irradiance at the top of the atmosphere on a plane facing the sun, W/m². */
  readonly extraterrestrialW: number;
}

export function sunPosition(ms: number, latitudeDeg: number, longitudeDeg: number): SunPosition {
  const jd = ms / 86_400_000 + 2440587.5;
  const jc = (jd - 2451545) / 36525;
  const l0 = (((280.46646 + jc * (36000.76983 + jc * 0.0003032)) % 360) + 360) % 360;
  const m = 357.52911 + jc * (35999.05029 - 0.0001537 * jc);
  const e = 0.016708634 - jc * (0.000042037 + 0.0000001267 * jc);
  const c = Math.sin(m * RAD) * (1.914602 - jc * (0.004817 + 0.000014 * jc)) + Math.sin(2 * m * RAD) * (0.019993 - 0.000101 * jc) + Math.sin(3 * m * RAD) * 0.000289;
  const trueLong = l0 + c;
  const omega = 125.04 - 1934.136 * jc;
  const appLong = trueLong - 0.00569 - 0.00478 * Math.sin(omega * RAD);
  const meanObliq = 23 + (26 + (21.448 - jc * (46.815 + jc * (0.00059 - jc * 0.001813))) / 60) / 60;
  const obliq = meanObliq + 0.00256 * Math.cos(omega * RAD);
  const decl = Math.asin(Math.sin(obliq * RAD) * Math.sin(appLong * RAD));
  const y = Math.tan((obliq / 2) * RAD) ** 2;
  const eqTimeMin =
    4 *
    DEG *
    (y * Math.sin(2 * l0 * RAD) - 2 * e * Math.sin(m * RAD) + 4 * e * y * Math.sin(m * RAD) * Math.cos(2 * l0 * RAD) - 0.5 * y * y * Math.sin(4 * l0 * RAD) - 1.25 * e * e * Math.sin(2 * m * RAD));
  const minutesUtc = (((ms % 86_400_000) + 86_400_000) % 86_400_000) / 60_000;
  const trueSolarMin = (((minutesUtc + eqTimeMin + 4 * longitudeDeg) % 1440) + 1440) % 1440;
  const hourAngle = trueSolarMin / 4 < 0 ? trueSolarMin / 4 + 180 : trueSolarMin / 4 - 180;
  const lat = latitudeDeg * RAD;
  const cosZen = Math.min(1, Math.max(-1, Math.sin(lat) * Math.sin(decl) + Math.cos(lat) * Math.cos(decl) * Math.cos(hourAngle * RAD)));
  const zen = Math.acos(cosZen);
  const denom = Math.cos(lat) * Math.sin(zen);
  let azimuth: number;
  if (Math.abs(denom) < 1e-9) azimuth = latitudeDeg > 0 ? 180 : 0;
  else {
    const a = Math.acos(Math.min(1, Math.max(-1, (Math.sin(lat) * cosZen - Math.sin(decl)) / denom))) * DEG;
    azimuth = hourAngle > 0 ? (a + 180) % 360 : (540 - a) % 360;
  }
  // Earth–sun distance through the year (Spencer's first harmonic is plenty here).
  const dayOfYear = (jd - 2451544.5) % 365.25;
  const extraterrestrialW = 1361 * (1 + 0.033 * Math.cos((2 * Math.PI * dayOfYear) / 365.25));
  return { zenithDeg: zen * DEG, azimuthDeg: azimuth, extraterrestrialW };
}
