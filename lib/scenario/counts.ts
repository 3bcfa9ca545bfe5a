/**
 * Seeded, labelled count series for evaluating the report-spike detector: over-dispersed
 * backgrounds (negative-binomial counts with a dispersion drawn per series, daily and weekly
 * seasonality, slow level drifts, one-off bursts, missing minutes, 1–14 days of history before the
 * last day) and, optionally, an outage on the last day with its labelled window (a step or a ramp,
 * a plateau, a decay; 0.1 to 1,000 extra reports per minute). Same seed, same series.
 *
 *   const s = countSeries({ seed: 7, outage: true });
 *   backtest(s.rows, defaultParams.detector, 1);   // then score raises against s.outage
 *
 * Nothing here is fitted to the bundled example: the ranges are chosen to cover what services
 * and social mention counts show (a quiet service at 0.2 reports a minute to a big one at 300;
 * dispersion from nearly Poisson to a latent rate that wobbles ±100 % from minute to minute).
 */
import { createRng, poisson } from './generate.ts';

const MINUTE = 60_000;
const DAY = 86_400_000;

/** A gamma(shape, 1) sample (Marsaglia and Tsang; shape < 1 by the boost x · u^(1/shape)). */
export function gamma(rng: () => number, shape: number): number {
  if (shape < 1) return gamma(rng, shape + 1) * Math.pow(rng() || 1e-12, 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = normal(rng);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rng();
    if (u < 1 - 0.0331 * x ** 4 || Math.log(u || 1e-300) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

function normal(rng: () => number): number {
  return Math.sqrt(-2 * Math.log(rng() || 1e-12)) * Math.cos(2 * Math.PI * rng());
}

/** A negative-binomial sample with mean mu and var mu + phi mu^2 (a Poisson of a gamma-distributed rate). */
export function negBinomial(rng: () => number, mu: number, phi: number): number {
  if (mu <= 0) return 0;
  if (phi <= 0) return poisson(rng, mu);
  return poisson(rng, mu * phi * gamma(rng, 1 / phi));
}

export interface SeriesOutage {
  startMs: number;
  /** End of the labelled window (the rise, the plateau and the decay). */
  endMs: number;
  /** Extra reports per minute on the plateau. */
  ratePerMin: number;
  rampMinutes: number;
  plateauMinutes: number;
  decayMinutes: number;
}

export interface CountSeries {
  seed: number;
  rows: { tsMs: number; value: number }[];
  /** Days of history before the last day (the day an outage falls on). */
  historyDays: number;
  days: number;
  peakPerMin: number;
  phi: number;
  outage?: SeriesOutage;
}

export interface CountSeriesOptions {
  seed: number;
  /** Put an outage on the last day. */
  outage: boolean;
  startIso?: string;
  /** Inclusive ranges drawn per series. */
  historyDays?: [number, number];
  peakPerMin?: [number, number];
  phi?: [number, number];
  outageRatePerMin?: [number, number];
}

const logUniform = (rng: () => number, [lo, hi]: [number, number]) => Math.exp(Math.log(lo) + rng() * (Math.log(hi) - Math.log(lo)));

/**
 * One series in 1-minute buckets.
 *
 * @example countSeries({ seed: 3, outage: true }).outage // { startMs, endMs, ratePerMin, rampMinutes }
 */
export function countSeries(o: CountSeriesOptions): CountSeries {
  const rng = createRng(o.seed * 7919 + 17);
  const [h0, h1] = o.historyDays ?? [1, 14];
  const historyDays = h0 + Math.floor(rng() * (h1 - h0 + 1));
  const days = historyDays + 1;
  const peakPerMin = logUniform(rng, o.peakPerMin ?? [0.2, 300]);
  const phi = logUniform(rng, o.phi ?? [0.01, 1]);
  const peakHour = rng() * 24;
  const trough = 0.1 + rng() * 0.4;
  const weekend = 0.4 + rng() * 0.6;
  // The series starts on a random weekday, so weekends fall anywhere in the history.
  const start = Date.parse(o.startIso ?? '2020-01-06T00:00:00Z') + Math.floor(rng() * 7) * DAY;
  const end = start + days * DAY;

  let outage: SeriesOutage | undefined;
  if (o.outage) {
    const startMs = start + historyDays * DAY + Math.floor(rng() * 1380) * MINUTE;
    const rampMinutes = rng() < 0.4 ? 0 : Math.floor(1 + rng() * 30);
    const plateau = Math.floor(15 + rng() * 105);
    const decay = Math.floor(rng() * 30);
    const ratePerMin = logUniform(rng, o.outageRatePerMin ?? [0.1, 1000]);
    outage = { startMs, endMs: startMs + (rampMinutes + plateau + decay) * MINUTE, ratePerMin, rampMinutes, plateauMinutes: plateau, decayMinutes: decay };
  }

  // Slow drift: the log level follows a mean-reverting walk (hourly steps, a few % a day);
  // now and then a level shift of ±20–60 % eases in over a few hours and stays.
  let drift = 0;
  let shift = 0;
  let shiftTarget = 0;
  const rows: { tsMs: number; value: number }[] = [];
  let gapLeft = 0;
  for (let t = start; t < end; t += MINUTE) {
    if ((t - start) % 3_600_000 === 0) {
      drift = 0.97 * drift + 0.03 * normal(rng);
      if (rng() < 1 / (24 * 5)) shiftTarget = Math.log(1 + (rng() < 0.5 ? -1 : 1) * (0.2 + rng() * 0.4));
    }
    shift += (shiftTarget - shift) / 180;
    const d = new Date(t);
    const h = d.getUTCHours() + d.getUTCMinutes() / 60;
    let dh = Math.abs(h - peakHour);
    dh = Math.min(dh, 24 - dh);
    const daily = trough + (1 - trough) * Math.exp(-((dh / 4.5) ** 2));
    const dow = d.getUTCDay();
    const weekly = dow === 0 || dow === 6 ? weekend : 1;
    const mu = peakPerMin * daily * weekly * Math.exp(drift + shift);
    let value = negBinomial(rng, mu, phi);
    // One-off bursts: a script or a single reporter adds a handful of reports in one minute.
    if (rng() < 1 / 720) value += 2 + Math.floor(rng() * 7);
    if (outage && t >= outage.startMs && t < outage.endMs) value += poisson(rng, outageRate(outage, t) * Math.exp(normal(rng) * 0.2));
    // Missing minutes: about twice a day a gap of 1–30 minutes with no data at all.
    if (gapLeft > 0) {
      gapLeft--;
      continue;
    }
    if (rng() < 2 / 1440) {
      gapLeft = Math.floor(rng() * 30);
      continue;
    }
    rows.push({ tsMs: t, value });
  }
  return { seed: o.seed, rows, historyDays, days, peakPerMin, phi, ...(outage ? { outage } : {}) };
}

function outageRate(o: SeriesOutage, t: number): number {
  const m = (t - o.startMs) / MINUTE;
  if (m < o.rampMinutes) return (o.ratePerMin * (m + 1)) / (o.rampMinutes + 1);
  if (m < o.rampMinutes + o.plateauMinutes) return o.ratePerMin;
  return o.ratePerMin * (1 - (m - o.rampMinutes - o.plateauMinutes) / Math.max(1, o.decayMinutes));
}
