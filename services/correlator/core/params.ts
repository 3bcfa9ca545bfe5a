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
  /**
   * Fewest failed checks in a probe failure episode, whatever the rate test says: one failed check
   * can be the prober's own glitch (its network, its DNS), so it is never an outage on its own.
   */
  minProbeStreak: number;
  /** When a probe series' failures become an episode: its learned failure rate and the test on it. */
  probeRate: ProbeRateParams;
  /** Evidence (probe streaks, posts) counts when it starts no earlier than this before the onset. */
  evidenceLeadMinutes: number;
}

/**
 * The probe failure-rate model (`probe-rate.ts`): per endpoint and region, failures among checks
 * are beta-binomial around the series' own learned rate.
 */
export interface ProbeRateParams {
  /**
   * Checks per learning block and in the sliding-window test. Ten checks (ten minutes at the
   * prober's default interval) hold a partial outage that fails every other check, and are short
   * enough that the window test answers within an incident's first minutes.
   */
  windowChecks: number;
  /**
   * Blocks behind the learned rate (rolling). 432 blocks of ten checks are three days at one check
   * a minute, as the report detector's dispersion window: a weekday/weekend change averages out
   * and an old regime is forgotten within the week.
   */
  learnBlocks: number;
  /**
   * The cold-start prior of the failure rate: 0.5 failures in 50 checks (1 %), worth 50 checks. A
   * fresh series is not trusted to be clean, so its first failures need a longer run: at one check
   * a minute, five or six failures in a row before it has history, four after two hours, three
   * after four, two after a day. An endpoint that never fails is then believed after two or three
   * failures, one that fails 5 % of the time after five in a row.
   */
  priorFailures: number;
  priorChecks: number;
  /**
   * Prior intra-window correlation of failures (beta-binomial rho) and its weight in blocks.
   * Failures of real checks come in bursts (a slow minute of a backend, a network hiccup); 0.05
   * assumes that mildly until the series' own blocks say otherwise. The weight is two hours of
   * blocks: a clean series earns trust within a morning (a series that never failed cannot show
   * how its failures cluster; what is left of the prior then keeps a run of one or two cautious).
   */
  rhoPrior: number;
  rhoPriorBlocks: number;
  /** Upper bound of rho (numerical safety: a check that fails in long bursts). */
  rhoMax: number;
  /**
   * False failure episodes a service's probes may raise per year, split over checks × 2 tests
   * (the run of failures, the window) × the service's probe series (endpoints × regions; Šidák).
   * An episode is evidence for a hint, not a page, and it misleads only when it overlaps an
   * incident, so the budget is looser than the report detector's one a year: one a month.
   */
  falseEpisodesPerYear: number;
  /** Checks per series and day the budget is split over: the prober's default interval is a minute. */
  checksPerDay: number;
  /**
   * A window counts as still failing (keeps an episode open) below this tail probability; the
   * episode ends at the first successful check after its last failure.
   */
  alphaElevated: number;
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
    probeRate: {
      windowChecks: 10,
      learnBlocks: 432,
      priorFailures: 0.5,
      priorChecks: 50,
      rhoPrior: 0.05,
      rhoPriorBlocks: 12,
      rhoMax: 0.5,
      falseEpisodesPerYear: 12,
      checksPerDay: 1440,
      alphaElevated: 1e-2,
    },
    evidenceLeadMinutes: 30,
  },
  maxServices: 10_000,
  maxSlicesPerService: MAX_SLICES_PER_SERVICE,
};
