/**
 * The detector's and the hints' parameters, set in one place. The live correlator, `replay` and
 * (later) the backtesting command all read these; nothing else hard-codes a threshold.
 */
export interface DetectorParams {
  /**
   * False alarms per year that one service may raise when nothing is wrong, under the count model
   * (all its test windows and slices together). The per-test tail probability follows from it by
   * a Šidák correction over slots per day × test windows × `testedSeriesPerService`, so a 5-minute
   * series (288 slots a day) tests at a looser per-test level than a 1-minute one (1440), and 25
   * sliced series at a stricter one than a single series. One a year: a pager that fires more often
   * than that without cause is ignored, and a model never fits real counts exactly, so the real
   * rate is higher than the nominal one.
   */
  falseAlarmsPerYear: number;
  /**
   * Series tested per service and slot (the service total and its region and problem slices): the
   * size of the family the false-alarm budget is split over. `outage detect` tests one series.
   */
  testedSeriesPerService: number;
  /** A minute counts as still elevated (keeps an incident open) below this tail probability. */
  alphaElevated: number;
  /**
   * Dispersion a series is assumed to have before its own residuals say otherwise
   * (var = mu + phi * mu^2). 0.25 is a latent rate that wobbles by about ±50 % from slot to slot,
   * what social mention counts show; a fixed 0.04 (±20 %) paged every few hours on real series.
   */
  phiPrior: number;
  /**
   * How much the prior weighs, in slots of the series' own data at its own level (at least one
   * report per slot: below that a slot says little about phi and the prior keeps most weight).
   * Six hours: the learned value takes over within the first day.
   */
  phiPriorMinutes: number;
  /**
   * Minutes of residuals behind the learned dispersion (a rolling window in hourly blocks, inside
   * the seasonal ring so a state rebuilt from the ring's horizon learns the same value). Three days
   * average over a weekday/weekend change and forget an old regime within the week.
   */
  dispersionWindowMinutes: number;
  /**
   * Residuals are winsorised at this many model standard deviations before they enter the
   * dispersion estimate, so a burst or an outage's first minutes before the alarm do not inflate
   * phi (at 4 sd an NB residual is clipped in well under 1 % of ordinary slots).
   */
  winsorSd: number;
  /** Bounds of the learned dispersion (numerical safety: Poisson-like to wildly bursty). */
  phiMin: number;
  phiMax: number;
  /** Added to phi per missing day of seasonal history (fewer days, less certain baseline). */
  phiPerMissingDay: number;
  /**
   * `false` keeps phi at `phiPrior` (the fixed-dispersion detector before learning; kept only so
   * the detector bench can compare against it).
   */
  learnDispersion: boolean;
  /**
   * An incident's minutes are kept out of the learned history; after this many minutes of a shift
   * that does not end, the level learns it again (clipped per minute, so it moves in steps). Outages
   * rarely hold beyond a few hours (Teams 2020-02-03: 4 h 17 min); a level that holds for six is the
   * new normal, and the incident then resolves instead of staying open for good.
   */
  adoptShiftMinutes: number;
  /** The recent level may rescale the seasonal profile by at most this factor either way. */
  levelClamp: number;
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

/** Region and problem slices per service (also the size of the detector's test family). */
const MAX_SLICES_PER_SERVICE = 24;

export const defaultParams: CorrelatorParams = {
  detector: {
    falseAlarmsPerYear: 1,
    testedSeriesPerService: 1 + MAX_SLICES_PER_SERVICE,
    alphaElevated: 1e-2,
    phiPrior: 0.25,
    phiPriorMinutes: 360,
    dispersionWindowMinutes: 3 * 1440,
    winsorSd: 4,
    phiMin: 1e-3,
    phiMax: 10,
    phiPerMissingDay: 0.04,
    learnDispersion: true,
    adoptShiftMinutes: 360,
    levelClamp: 2,
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
  maxSlicesPerService: MAX_SLICES_PER_SERVICE,
};
