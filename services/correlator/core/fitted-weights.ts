/**
 * The evidence weights of every hint kind (log-likelihood ratios, natural log), fitted by `npm run fit`
 * (bench/fit.ts): logistic regression on the hints of 240 generated incident scenarios
 * (services/correlator/labelled-scenarios.ts, seed 11), ridge λ = 3 toward the values set by hand
 * (`HAND_SET_WEIGHTS` in weights.ts), each weight kept to its sign, the priors kept as set by hand
 * (base rates, which the generated mix of causes cannot teach). Evaluated on another seed:
 * `npm run bench -- --only calibration --seed 1`. Generated: do not edit by hand, refit.
 * Each line: the weight, and in its comment the training hints that showed the factor and the
 * value set by hand.
 */
export const FITTED_WEIGHTS = {
  /** 206 training hints, 94 of them naming the cause. */
  cert: {
    /** Prior: most incidents are not caused by any one bound certificate. (206 hints; by hand -3) */
    prior: -3,
    /** Declared in the catalog, named by its observation, or served at the service's endpoint. (145 hints; by hand 1.5) */
    inUse: 2.23,
    /** Only its SAN names match the service: it may be a stale copy. (61 hints; by hand -0.5) */
    sanOnly: 0,
    /** Each hop of `dependsOn` between the spiking service and the certificate's service. (42 hints; by hand -0.5) */
    perHop: 0,
    /** Expiry within minutes before the onset (falls off in log-time to 0 at a day). (149 hints; by hand 4) */
    expiryAtOnset: 3.26,
    /** Expiry a week or more before the onset while the service kept working (from 0 at a day). (43 hints; by hand -4) */
    expiryLongBefore: -4.07,
    /** Expiry after the onset: it cannot have started the outage. (0 hints; by hand -3) */
    expiryAfterOnset: -3,
    /** Probes of the service or a dependency fail with the matching TLS error on this very certificate. (40 hints; by hand 3) */
    probeSameCert: 2.82,
    /** Probes fail with a matching TLS error, certificate not identified. (17 hints; by hand 1.5) */
    probeSameClass: 0.61,
    /** A status post of the service mentions a certificate. (22 hints; by hand 1.5) */
    statusMentionsCert: 0.32,
    /** A newer certificate for the same names is what the endpoints serve: this one is a leftover. (116 hints; by hand -4) */
    superseded: -2.89,
    /** First served shortly before the onset while not yet valid. (8 hints; by hand 3) */
    notYetValidServed: 2.94,
    /** Served (or failing clients) while not yet valid, for longer than the hour before the onset. (6 hints; by hand 1) */
    notYetValid: 1.02,
  },
  /** 107 training hints, 57 of them naming the cause. */
  probe: {
    /** Prior: a class of probe failures of the service or a dependency is where the cause lies. (107 hints; by hand -1) */
    prior: -1,
    /** Failing in two regions or more. (107 hints; by hand 1) */
    regions: 1.39,
    /** Three checks or more in a row. (107 hints; by hand 1) */
    streak: 1.39,
    /** Began within the lead time before the onset or 15 minutes after it. (73 hints; by hand 1.5) */
    atOnset: 1.92,
    /** A certificate-class (TLS) error. (50 hints; by hand 1) */
    tlsClass: 0.97,
    /** The check fails 10 % of the time or more anyway. (0 hints; by hand -1.5) */
    usuallyFails: -1.5,
    /** Each hop of `dependsOn` to the failing service. (30 hints; by hand -0.5) */
    perHop: -0.34,
  },
  /** 45 training hints, 13 of them naming the cause. */
  dependency: {
    /** Prior: a dependency's incident near the onset is where the cause lies. (45 hints; by hand 0.5) */
    prior: 0.5,
    /** It began within 15 minutes of this one. (45 hints; by hand 1.5) */
    close: 0.27,
    /** Each hop beyond the first. (8 hints; by hand -0.5) */
    perHop: -1,
  },
  /** 45 training hints, 23 of them naming the cause. */
  vendor: {
    /** Prior: the service's own status post says where the cause lies. (45 hints; by hand -1.1) */
    prior: -1.1,
    /** The post mentions a certificate. (15 hints; by hand 1.5) */
    mentionsCert: 1.52,
  },
  /** 15 training hints, 15 of them naming the cause. */
  renewal: {
    /** A renewal made and never deployed is the fix, given that the certificate it would replace is the cause. (15 hints; by hand 2.2) */
    prior: 2.56,
  },
  /** 45 training hints, 0 of them naming the cause. */
  expiring: {
    /** Prior: a bound certificate that expires within the horizon caused this incident (it has not expired yet). (45 hints; by hand -3.9) */
    prior: -3.9,
    /** It expires within a day. (18 hints; by hand 0.95) */
    withinDay: 0.77,
  },
} as const;
