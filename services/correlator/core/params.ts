/**
 * The detector's and the hints' parameters, set in one place. The live correlator, `replay` and
 * (later) the backtesting command all read these; nothing else hard-codes a threshold.
 */
export interface DetectorParams {
  /** False-alarm probability of one test (one service, one minute, one window) under the count model. */
  alpha: number;
  /** A minute counts as still elevated (keeps an incident open) below this tail probability. */
  alphaElevated: number;
  /** Extra-Poisson variance of report counts: var = mu + phi * mu^2 (a 10 % rate wobble ≈ 0.01). */
  phi: number;
  /** Added to phi per missing day of seasonal history (fewer days, less certain baseline). */
  phiPerMissingDay: number;
  /** Fewest distinct reports in a test window that can raise an alarm, whatever the baseline. */
  minCount: number;
  /** Floor for the expected reports per minute, so a silent service does not alarm on one report. */
  minBaselinePerMin: number;
  /** Minutes of history needed before any alarm (cold start). */
  minHistoryMinutes: number;
  /** Days of seasonal history used (same time of day on previous days). */
  seasonDays: number;
  /** Window (minutes, centred) around the same time on previous days. */
  seasonWindowMinutes: number;
  /** Minutes of recent history that rescale the seasonal profile to today's level. */
  levelWindowMinutes: number;
  /** The sliding window (minutes) of the second test, for rises spread over several minutes. */
  slowWindowMinutes: number;
  /** An incident resolves after this many minutes without an elevated minute. */
  quietMinutes: number;
  /** A new alarm this soon after resolution re-opens the same incident. */
  reopenMinutes: number;
  /** One reporter (author) counts once per service within this window. */
  reporterWindowMinutes: number;
  /** How far back the onset search may go from the detection. */
  maxOnsetLookbackMinutes: number;
}

export interface HintParams {
  /** Certificates expiring within this many days are listed as context on an incident. */
  expiringHorizonDays: number;
  /** A probe failure streak shorter than this is treated as a flake. */
  minProbeStreak: number;
  /** Evidence (probe streaks, posts) counts when it starts no earlier than this before the onset. */
  evidenceLeadMinutes: number;
}

export interface CorrelatorParams {
  detector: DetectorParams;
  hints: HintParams;
  /** Upper bound on tracked services (reports for unknown ids included), against hostile input. */
  maxServices: number;
  /**
   * Region and problem slices detected on their own per service (a regional outage can hide in a
   * big service's total); at most this many per service.
   */
  maxSlicesPerService: number;
}

export const defaultParams: CorrelatorParams = {
  detector: {
    alpha: 1e-6,
    alphaElevated: 1e-2,
    phi: 0.04,
    phiPerMissingDay: 0.04,
    minCount: 10,
    minBaselinePerMin: 0.05,
    minHistoryMinutes: 30,
    seasonDays: 7,
    seasonWindowMinutes: 60,
    levelWindowMinutes: 180,
    slowWindowMinutes: 5,
    quietMinutes: 30,
    reopenMinutes: 60,
    reporterWindowMinutes: 60,
    maxOnsetLookbackMinutes: 60,
  },
  hints: {
    expiringHorizonDays: 30,
    minProbeStreak: 2,
    evidenceLeadMinutes: 30,
  },
  maxServices: 10_000,
  maxSlicesPerService: 24,
};
