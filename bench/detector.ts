/**
 * `npm run bench -- --only detector`: the report-spike detector on generated, labelled count
 * series (lib/scenario/counts.ts), against the fixed-dispersion detector it replaced and a simple
 * baseline. Seeded: the same command prints the same figures.
 *
 * - false alarms per series-day: incidents raised on over-dispersed backgrounds without an outage
 *   (every day counts, the install day too), and on the outage series outside their windows;
 * - detection rate and delay (p50/p90, minutes from the first minute of the rise) on the outages,
 *   by outage rate. An outage counts as detected when an incident is raised inside its window.
 *
 * Detectors:
 * - learned: the live detector and parameters (services/correlator/core/params.ts), testing the
 *   service's total as one of its 25 series (total + 24 slices), as the correlator does;
 * - fixed phi: the detector before learning: phi = 0.04 fixed, one test at 1e-6 per window;
 * - baseline: a negative-binomial test on a seasonal median (median over the previous 7 days of
 *   the same hour's mean; the last hour's mean on the first day), dispersion fitted per series by
 *   moments on its history (every day before the last; with hindsight, which a live detector lacks), the learned detector's per-test level and minimum count.
 * All three raise incidents the same way (open on an alarm, resolve after 30 quiet minutes).
 */
import { backtest, type CountRow } from '../services/correlator/core/backtest.ts';
import { perTestAlpha, upperTail } from '../services/correlator/core/count-model.ts';
import { defaultParams, type DetectorParams } from '../services/correlator/core/params.ts';
import { countSeries, type CountSeries } from '../lib/scenario/counts.ts';

const MINUTE = 60_000;

export const fixedPhiParams: DetectorParams = {
  ...defaultParams.detector,
  learnDispersion: false,
  phiPrior: 0.04,
  // 1e-6 per test at two windows a minute, as before: 1e-6 * 2 * 1440 * 365 a year.
  falseAlarmsPerYear: 1e-6 * 2 * 1440 * 365,
  testedSeriesPerService: 1,
  adoptShiftMinutes: Infinity,
};

/** Raise minutes (ms) of an alarm/elevated sequence with the correlator's incident life cycle. */
function raisesOf(rows: CountRow[], alarm: boolean[], elevated: boolean[], p: DetectorParams): number[] {
  const out: number[] = [];
  let open = false;
  let lastElevated = -Infinity;
  let resolved = -Infinity;
  for (let i = 0; i < rows.length; i++) {
    const m = rows[i]!.tsMs / MINUTE;
    if (open && elevated[i]) lastElevated = m;
    if (open && m - lastElevated >= p.quietMinutes) {
      open = false;
      resolved = lastElevated + 1;
    }
    if (alarm[i] && !open) {
      if (m - resolved > p.reopenMinutes) out.push(rows[i]!.tsMs);
      open = true;
      lastElevated = m;
    }
  }
  return out;
}

/** The baseline's raises on one series. */
function baselineRaises(s: CountSeries, p: DetectorParams): number[] {
  const rows = s.rows;
  const t0 = rows[0]!.tsMs;
  const n = Math.round((rows[rows.length - 1]!.tsMs - t0) / MINUTE) + 1;
  const x = new Float64Array(n);
  const seen = new Uint8Array(n);
  for (const r of rows) {
    const i = Math.round((r.tsMs - t0) / MINUTE);
    x[i] = r.value;
    seen[i] = 1;
  }
  // Hourly means (of the minutes with data), then the seasonal median of the same hour.
  const hours = Math.ceil(n / 60);
  const hourMean = new Float64Array(hours).fill(NaN);
  for (let h = 0; h < hours; h++) {
    let sum = 0;
    let k = 0;
    for (let i = h * 60; i < Math.min(n, h * 60 + 60); i++) if (seen[i]) (sum += x[i]!), k++;
    if (k > 0) hourMean[h] = sum / k;
  }
  const mu = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const h = Math.floor(i / 60);
    const past: number[] = [];
    for (let d = 1; d <= 7; d++) if (h - 24 * d >= 0 && !Number.isNaN(hourMean[h - 24 * d]!)) past.push(hourMean[h - 24 * d]!);
    let m: number;
    if (past.length > 0) {
      past.sort((a, b) => a - b);
      m = past.length % 2 ? past[(past.length - 1) >> 1]! : (past[past.length / 2 - 1]! + past[past.length / 2]!) / 2;
    } else {
      let sum = 0;
      let k = 0;
      for (let j = Math.max(0, i - 60); j < i; j++) if (seen[j]) (sum += x[j]!), k++;
      m = k > 0 ? sum / k : 0;
    }
    mu[i] = Math.max(m, p.minBaselinePerMin);
  }
  // Dispersion by moments over the history (every day before the last, which may hold the outage).
  let a = 0;
  let b = 0;
  for (let i = 60; i < Math.max(120, n - 1440); i++) if (seen[i]) (a += (x[i]! - mu[i]!) ** 2 - mu[i]!), (b += mu[i]! ** 2);
  const phi = Math.max(1e-3, a / b);
  const alpha = perTestAlpha(p.falseAlarmsPerYear, 1440, 2 * p.testedSeriesPerService);
  const alarm: boolean[] = [];
  const elevated: boolean[] = [];
  for (const r of rows) {
    const i = Math.round((r.tsMs - t0) / MINUTE);
    const tail = i < p.minHistoryMinutes ? 1 : upperTail(r.value, mu[i]!, phi);
    alarm.push(r.value >= p.minCount && tail < alpha);
    elevated.push(tail < p.alphaElevated);
  }
  return raisesOf(rows, alarm, elevated, p);
}

function detectorRaises(s: CountSeries, p: DetectorParams, testedSeries: number): number[] {
  return backtest(s.rows, p, 1, { testedSeries, noScore: true })
    .filter((r) => r.alarm)
    .map((r) => r.tsMs);
}

interface Tally {
  falseAlarms: number;
  installDayFalseAlarms: number;
  seriesDays: number;
  installDays: number;
  outsideWindow: number;
  outageSeriesDays: number;
  /** Per outage: delay in minutes, or null when missed. */
  outages: { rate: number; delay: number | null }[];
}

const pct = (xs: number[], q: number) => {
  if (xs.length === 0) return NaN;
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

export interface DetectorBenchOptions {
  series: number;
  seed: number;
  log?: (s: string) => void;
}

/** Runs the evaluation; returns the markdown report. */
export function detectorBench(o: DetectorBenchOptions): string[] {
  const live = defaultParams.detector;
  const detectors: { name: string; raises: (s: CountSeries) => number[] }[] = [
    { name: 'learned (live parameters, 1 of 25 series)', raises: (s) => detectorRaises(s, live, live.testedSeriesPerService) },
    { name: 'learned, as `outage detect` (1 series)', raises: (s) => detectorRaises(s, live, 1) },
    { name: 'fixed phi = 0.04, 1e-6 per test (before)', raises: (s) => detectorRaises(s, fixedPhiParams, 1) },
    { name: 'baseline: NB on a seasonal median, phi fitted per series', raises: (s) => baselineRaises(s, live) },
  ];
  const tallies = detectors.map((): Tally => ({ falseAlarms: 0, installDayFalseAlarms: 0, seriesDays: 0, installDays: 0, outsideWindow: 0, outageSeriesDays: 0, outages: [] }));
  for (let k = 0; k < o.series; k++) {
    const quiet = countSeries({ seed: o.seed * 100_000 + k, outage: false });
    const loud = countSeries({ seed: o.seed * 100_000 + 50_000 + k, outage: true });
    detectors.forEach((d, j) => {
      const t = tallies[j]!;
      const q = d.raises(quiet);
      const day1 = quiet.rows[0]!.tsMs + 86_400_000;
      t.falseAlarms += q.length;
      t.installDayFalseAlarms += q.filter((ms) => ms < day1).length;
      t.seriesDays += quiet.days;
      t.installDays += 1;
      const w = loud.outage!;
      const r = d.raises(loud);
      // The decay's tail and the quiet period after it belong to the outage, not to a false alarm.
      const inWindow = r.filter((ms) => ms >= w.startMs && ms < w.endMs);
      t.outsideWindow += r.filter((ms) => ms < w.startMs || ms >= w.endMs + live.quietMinutes * MINUTE).length;
      t.outageSeriesDays += loud.days;
      t.outages.push({ rate: w.ratePerMin, delay: inWindow.length > 0 ? (inWindow[0]! - w.startMs) / MINUTE : null });
    });
    if ((k + 1) % 20 === 0) o.log?.(`detector bench: ${k + 1}/${o.series} series pairs`);
  }
  const bands: [number, number][] = [
    [0.1, 1],
    [1, 10],
    [10, 100],
    [100, 1000.1],
  ];
  const f = (x: number, d = 2) => (Number.isNaN(x) ? '—' : x.toFixed(d));
  const out = [
    `Detector on generated count series (seed ${o.seed}; ${o.series} over-dispersed backgrounds and ${o.series} with an outage; 1-minute buckets; 1–14 days of history; peak 0.2–300 reports/min; phi 0.01–1 per series; outages 0.1–1,000 extra reports/min):`,
    '',
    '| detector | false alarms / series-day | on the install day | outside outage windows / series-day | detected | delay p50 | delay p90 |',
    '|---|---|---|---|---|---|---|',
  ];
  detectors.forEach((d, j) => {
    const t = tallies[j]!;
    const delays = t.outages.filter((x) => x.delay !== null).map((x) => x.delay!);
    out.push(
      `| ${d.name} | ${f(t.falseAlarms / t.seriesDays, 3)} | ${f(t.installDayFalseAlarms / t.installDays, 3)} | ${f(t.outsideWindow / t.outageSeriesDays, 3)} | ${delays.length}/${t.outages.length} | ${f(pct(delays, 0.5), 0)} min | ${f(pct(delays, 0.9), 0)} min |`,
    );
  });
  out.push('', 'Detected outages by rate (extra reports per minute), with delay p50/p90 in minutes:', '', `| detector | ${bands.map(([a, b]) => `${a}–${Math.floor(b)}`).join(' | ')} |`, `|---|${bands.map(() => '---').join('|')}|`);
  detectors.forEach((d, j) => {
    const cells = bands.map(([a, b]) => {
      const xs = tallies[j]!.outages.filter((x) => x.rate >= a && x.rate < b);
      const dl = xs.filter((x) => x.delay !== null).map((x) => x.delay!);
      return `${dl.length}/${xs.length} (${f(pct(dl, 0.5), 0)}/${f(pct(dl, 0.9), 0)})`;
    });
    out.push(`| ${d.name} | ${cells.join(' | ')} |`);
  });
  out.push('');
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const series = Number(process.argv[2] ?? 100);
  const seed = Number(process.argv[3] ?? 1);
  process.stdout.write(`${detectorBench({ series, seed, log: (s) => process.stderr.write(`${s}\n`) }).join('\n')}\n`);
}
