/**
 * Seeded, labelled incident scenarios for measuring the hints (DESIGN.md §5: confidences are
 * measured, not asserted). Each scenario is a catalog and an in-memory event stream (reports,
 * probes, certificate observations, status posts) with its truth: which certificate(s), or which
 * other cause, or none, lies behind each spiking service.
 *
 *   const s = incidentScenario(42);
 *   const core = new CorrelatorCore(s.catalog);
 *   for (const e of s.events) core.step(e);
 *   core.tick(s.endMs);                  // then judge core.incidents() against s.truth
 *
 * Dimensions drawn per scenario: lag from expiry to onset (a minute to half a day), ramp (a step to
 * 30 minutes), extra rate (0.1 to 1,000 reports a minute), 1–14 days of history, over-dispersed
 * negative-binomial backgrounds, dependency chains (the cause one or two hops away, the services on
 * the path spiking too), competing certificates (another service's certificate expiring closer to
 * the onset), staged renewals never served, stale copies whose renewal is served, old expired
 * certificates, probe-less and post-less variants, dirty input (redelivered reports, lines out of
 * order by up to two minutes, one reporter flooding), and controls (a DNS or HTTP 5xx failure, a
 * dependency's non-certificate failure, or no cause at all). Malformed lines are the reader's
 * concern (`read.ts` drops them before the core); the stream here is already parsed.
 *
 * Nothing here is fitted to the bundled example or to `test/scenarios/`; services are `svc-*`.
 */
import type { Catalog } from '../../lib/catalog.ts';
import type { CertObservation, ProbeResult, StatusPost, UserReport } from '../../schemas/contracts.ts';
import type { CorrelatorEvent } from './core/correlator.ts';
import { createRng, poisson } from '../../lib/scenario/generate.ts';
import { negBinomial } from '../../lib/scenario/counts.ts';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

export type Variant =
  | 'leaf_expired'
  | 'intermediate_expired'
  | 'dependency_cert'
  | 'not_yet_valid'
  | 'renewal_not_deployed'
  | 'control_dns'
  | 'control_http_5xx'
  | 'control_dependency_dns'
  | 'control_none';

/** What lies behind one spiking service's reports. */
export interface Truth {
  /** The certificates that are the cause (one, or one chain failing as one); empty: not a certificate. */
  certs: string[];
  /** The service where the cause sits (undefined: no cause at all). */
  causeService?: string;
  /** The class of failure a probe of `causeService` shows ('tls' for a certificate seen by probes). */
  causeClass?: 'tls' | 'dns' | 'http_5xx';
  /** The services from the spiking one to the cause (both included). */
  path: string[];
}

export interface IncidentScenario {
  seed: number;
  variant: Variant;
  catalog: Catalog;
  events: CorrelatorEvent[];
  endMs: number;
  onsetMs: number;
  historyDays: number;
  /** Extra reports per minute on the plateau of the spiking service. */
  ratePerMin: number;
  /** Minutes from the certificate breaking clients to the onset (certificate variants). */
  lagMinutes?: number;
  probes: boolean;
  posts: boolean;
  dirty: boolean;
  distractors: string[];
  /** The truth per service that carries an outage. */
  truth: Record<string, Truth>;
  /** Service-days of background (for false alarms per series-day). */
  serviceDays: number;
}

export const VARIANTS: Variant[] = [
  'leaf_expired',
  'intermediate_expired',
  'dependency_cert',
  'not_yet_valid',
  'renewal_not_deployed',
  'control_dns',
  'control_http_5xx',
  'control_dependency_dns',
  'control_none',
];

const logUniform = (rng: () => number, lo: number, hi: number) => Math.exp(Math.log(lo) + rng() * (Math.log(hi) - Math.log(lo)));
const iso = (ms: number) => new Date(ms).toISOString();

interface GenCert {
  sha256: string;
  subject: string;
  issuerSha256?: string;
  issuer: string;
  notBeforeMs: number;
  notAfterMs: number;
  dnsNames: string[];
  isCA: boolean;
}

/** The services of every scenario: a → b → c (a dependency chain) and x, unrelated. */
const SERVICES = ['svc-a', 'svc-b', 'svc-c', 'svc-x'] as const;
const hostOf = (s: string) => `${s.slice(4)}.gen.example.test`;

export interface IncidentScenarioOptions {
  /** Force a variant (default: drawn, half certificate-caused, half controls). */
  variant?: Variant;
  /** Scale the history (days drawn from [1, maxHistoryDays]). */
  maxHistoryDays?: number;
}

/**
 * One scenario, deterministic in `seed`.
 *
 * @example incidentScenario(7).truth['svc-a'] // { certs: ['9f…'], causeService: 'svc-a', causeClass: 'tls', path: ['svc-a'] }
 */
export function incidentScenario(seed: number, o: IncidentScenarioOptions = {}): IncidentScenario {
  const rng = createRng(seed * 2654435761 + 11);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
  const hex = () => Array.from({ length: 64 }, () => '0123456789abcdef'[Math.floor(rng() * 16)]).join('');
  const variant = o.variant ?? pick(VARIANTS);
  const historyDays = 1 + Math.floor(rng() * (o.maxHistoryDays ?? 14));
  const start = Date.parse('2021-02-01T00:00:00Z') + Math.floor(rng() * 7) * DAY;
  const onsetMs = start + historyDays * DAY + (6 * 60 + Math.floor(rng() * 15 * 60)) * MIN;
  const ramp = rng() < 0.4 ? 0 : Math.floor(1 + rng() * 30);
  const plateau = 20 + Math.floor(rng() * 100);
  const ratePerMin = logUniform(rng, 0.1, 1000);
  const endMs = onsetMs + (ramp + plateau + 45) * MIN;
  const probes = rng() > 0.25;
  const posts = rng() < 0.35;
  const dirty = rng() < 0.5;
  const distractors: string[] = [];

  const deps = { 'svc-a': ['svc-b'], 'svc-b': ['svc-c'], 'svc-c': [], 'svc-x': [] } as Record<string, string[]>;
  const bound: Record<string, { name: string }[]> = { 'svc-a': [], 'svc-b': [], 'svc-c': [], 'svc-x': [] };
  const catalog: Catalog = {
    services: SERVICES.map((id) => ({
      id,
      name: `Generated ${id.slice(4)}`,
      endpoints: [`https://${hostOf(id)}/`],
      hosts: [hostOf(id)],
      dependsOn: deps[id]!,
      certificates: bound[id]!,
    })),
  };

  // Certificates: a CA, and a healthy leaf served per service (valid for a year around now).
  const certs: GenCert[] = [];
  const mk = (c: Omit<GenCert, 'sha256' | 'issuer'> & { issuerCert?: GenCert }): GenCert => {
    const { issuerCert, ...rest } = c;
    const g: GenCert = { ...rest, sha256: hex(), issuer: issuerCert?.subject ?? rest.subject, ...(issuerCert ? { issuerSha256: issuerCert.sha256 } : {}) };
    certs.push(g);
    return g;
  };
  const ca = mk({ subject: `CN=Generated CA ${seed % 97}`, notBeforeMs: start - 800 * DAY, notAfterMs: onsetMs + 2000 * DAY, dnsNames: [], isCA: true });
  const leafFor = (svc: string, nb: number, na: number, issuerCert: GenCert = ca) =>
    mk({ subject: `CN=${hostOf(svc)}`, notBeforeMs: nb, notAfterMs: na, dnsNames: [hostOf(svc)], isCA: false, issuerCert });
  /** What each service's endpoint serves over time: [fromMs, cert, chain]. */
  const served: Record<string, { fromMs: number; cert: GenCert; chain: GenCert[] }[]> = {};
  for (const s of SERVICES) {
    const c = leafFor(s, start - 200 * DAY, onsetMs + (100 + rng() * 200) * DAY);
    served[s] = [{ fromMs: -Infinity, cert: c, chain: [c, ca] }];
  }
  const inventory: { cert: GenCert; ts: number; service?: string; name?: string }[] = [];
  const truth: Record<string, Truth> = {};
  /** Probe failures: service, from, to, code, leaf/chain the failing probes present. */
  const failures: { service: string; fromMs: number; code: string; httpStatus?: number; cert?: GenCert; chain?: GenCert[] }[] = [];
  /** Outages: service and onset. */
  const outages: { service: string; onsetMs: number; rate: number }[] = [{ service: 'svc-a', onsetMs, rate: ratePerMin }];
  let lagMinutes: number | undefined;

  const lagDraw = () => (rng() < 0.5 ? logUniform(rng, 1, 30) : logUniform(rng, 30, 720));
  const certCause = variant === 'leaf_expired' || variant === 'intermediate_expired' || variant === 'dependency_cert' || variant === 'not_yet_valid' || variant === 'renewal_not_deployed';
  if (certCause) {
    lagMinutes = lagDraw();
    const breakMs = onsetMs - Math.round(lagMinutes * MIN);
    // Internal certificates (signing keys, client certificates) are not what probes see.
    const probeSees = rng() < 0.75;
    let causeSvc = 'svc-a';
    if (variant === 'dependency_cert') {
      causeSvc = rng() < 0.6 ? 'svc-b' : 'svc-c';
      const path = causeSvc === 'svc-b' ? ['svc-b'] : ['svc-c', 'svc-b'];
      // The dependency breaks first (never before its certificate does), its dependents follow.
      for (const s of path) outages.push({ service: s, onsetMs: Math.max(breakMs + MIN, onsetMs - Math.floor(rng() * 4) * MIN), rate: logUniform(rng, 0.5, 500) });
    }
    const path = causeSvc === 'svc-a' ? ['svc-a'] : causeSvc === 'svc-b' ? ['svc-a', 'svc-b'] : ['svc-a', 'svc-b', 'svc-c'];
    let culprit: GenCert;
    let chain: GenCert[];
    let code = 'CERT_HAS_EXPIRED';
    if (variant === 'intermediate_expired') {
      const inter = mk({ subject: `CN=Generated Issuing CA ${seed % 13}`, notBeforeMs: start - 900 * DAY, notAfterMs: breakMs, dnsNames: [], isCA: true, issuerCert: ca });
      const leaf = leafFor(causeSvc, start - 100 * DAY, onsetMs + 200 * DAY, inter);
      served[causeSvc] = [{ fromMs: -Infinity, cert: leaf, chain: [leaf, inter, ca] }];
      culprit = inter;
      chain = [leaf, inter, ca];
    } else if (variant === 'not_yet_valid') {
      // A renewal deployed with a clock error: served from breakMs, valid only hours later.
      const old = served[causeSvc]![0]!.cert;
      const nyv = leafFor(causeSvc, onsetMs + logUniform(rng, 60, 1440) * MIN, old.notAfterMs + 365 * DAY);
      served[causeSvc]!.push({ fromMs: breakMs, cert: nyv, chain: [nyv, ca] });
      culprit = nyv;
      chain = [nyv, ca];
      code = 'CERT_NOT_YET_VALID';
    } else {
      const leaf = leafFor(causeSvc, breakMs - 365 * DAY, breakMs);
      if (probeSees) served[causeSvc] = [{ fromMs: -Infinity, cert: leaf, chain: [leaf, ca] }];
      culprit = leaf;
      chain = [leaf, ca];
      if (variant === 'renewal_not_deployed' || rng() < 0.1) {
        // The renewal was made (in the secret store before the onset) and never deployed.
        const renewal = leafFor(causeSvc, breakMs - 20 * DAY, breakMs + 365 * DAY);
        inventory.push({ cert: renewal, ts: breakMs - logUniform(rng, 60, 20 * 1440) * MIN, name: `${causeSvc}-tls` });
        distractors.push('undeployed_renewal');
      }
    }
    // How the certificate is bound: served (probes), named by the catalog, or named by an inventory observation.
    if (!probeSees || !probes || rng() < 0.5) {
      if (rng() < 0.5) bound[causeSvc]!.push({ name: `${causeSvc}-signing` });
      inventory.push({ cert: culprit, ts: start + HOUR, ...(rng() < 0.5 ? { service: causeSvc } : {}), name: `${causeSvc}-signing` });
    }
    if (probeSees) failures.push({ service: causeSvc, fromMs: breakMs, code, cert: chain[0]!, chain });
    for (const s of path) truth[s] = { certs: [culprit.sha256], causeService: causeSvc, ...(probeSees ? { causeClass: 'tls' as const } : {}), path: path.slice(path.indexOf(s)) };
  } else if (variant === 'control_dns' || variant === 'control_http_5xx') {
    const code = variant === 'control_dns' ? 'ENOTFOUND' : 'HTTP_503';
    failures.push({ service: 'svc-a', fromMs: onsetMs - Math.floor(rng() * 10) * MIN, code, ...(code === 'HTTP_503' ? { httpStatus: 503 } : {}) });
    truth['svc-a'] = { certs: [], causeService: 'svc-a', causeClass: variant === 'control_dns' ? 'dns' : 'http_5xx', path: ['svc-a'] };
  } else if (variant === 'control_dependency_dns') {
    failures.push({ service: 'svc-b', fromMs: onsetMs - Math.floor(rng() * 10) * MIN, code: 'ENOTFOUND' });
    outages.push({ service: 'svc-b', onsetMs: onsetMs - Math.floor(rng() * 4) * MIN, rate: logUniform(rng, 0.5, 500) });
    truth['svc-a'] = { certs: [], causeService: 'svc-b', causeClass: 'dns', path: ['svc-a', 'svc-b'] };
    truth['svc-b'] = { certs: [], causeService: 'svc-b', causeClass: 'dns', path: ['svc-b'] };
  } else {
    truth['svc-a'] = { certs: [], path: ['svc-a'] };
  }

  // Distractors: certificates that are not the cause.
  if (rng() < 0.35) {
    // Another service's certificate expiring closer to the onset than any cause.
    const c = leafFor('svc-x', onsetMs - 400 * DAY, onsetMs - Math.round(logUniform(rng, 1, 20) * MIN));
    served['svc-x'] = [{ fromMs: -Infinity, cert: c, chain: [c, ca] }];
    failures.push({ service: 'svc-x', fromMs: c.notAfterMs, code: 'CERT_HAS_EXPIRED', cert: c, chain: [c, ca] });
    distractors.push('competing_cert');
  }
  if (truth['svc-a']?.certs.length === 0 || truth['svc-a']?.causeService !== 'svc-a' ? rng() < 0.3 : false) {
    // A stale copy: an expired certificate for svc-a's names left in the inventory; its renewal is served.
    const stale = leafFor('svc-a', onsetMs - 400 * DAY, onsetMs - Math.round(logUniform(rng, 2, 600) * MIN));
    inventory.push({ cert: stale, ts: start + HOUR });
    const cur = served['svc-a']!.at(-1)!.cert;
    if (cur.notBeforeMs < stale.notBeforeMs || cur.notAfterMs < stale.notAfterMs) {
      const ren = leafFor('svc-a', stale.notBeforeMs + 300 * DAY, stale.notAfterMs + 365 * DAY);
      served['svc-a']!.push({ fromMs: start, cert: ren, chain: [ren, ca] });
    }
    distractors.push('stale_copy');
  }
  if (rng() < 0.3) {
    // A renewal staged in the inventory, valid only hours after the onset, never served.
    const staged = leafFor('svc-a', onsetMs + logUniform(rng, 30, 1440) * MIN, onsetMs + 400 * DAY);
    inventory.push({ cert: staged, ts: onsetMs - logUniform(rng, 60, 2880) * MIN, service: 'svc-a', name: 'svc-a-tls' });
    distractors.push('staged_renewal');
  }
  if (probes && !(certCause && truth['svc-a']?.causeService !== 'svc-a') && rng() < 0.3) {
    // A dependency's stale copy, expired around the onset while the dependency serves its renewal and
    // keeps working (probes show the renewal served: without them nothing tells it from a cause).
    const stale = leafFor('svc-b', onsetMs - 400 * DAY, onsetMs - Math.round(logUniform(rng, 1, 600) * MIN));
    inventory.push({ cert: stale, ts: start + HOUR, ...(rng() < 0.5 ? { service: 'svc-b', name: 'svc-b-old' } : {}) });
    const ren = leafFor('svc-b', stale.notBeforeMs + 300 * DAY, stale.notAfterMs + 365 * DAY);
    served['svc-b']!.push({ fromMs: start, cert: ren, chain: [ren, ca] });
    distractors.push('dependency_stale_copy');
  }
  if (rng() < 0.3) {
    // An old expired certificate still bound to the service.
    const old = leafFor('svc-a', onsetMs - 800 * DAY, onsetMs - logUniform(rng, 20, 300) * DAY);
    inventory.push({ cert: old, ts: start + HOUR, service: 'svc-a', name: 'svc-a-legacy' });
    distractors.push('old_expired');
  }
  // Drawn from a stream of its own, so every scenario of a seed stays what it was before this one.
  const rngSoon = createRng(seed * 40503 + 17);
  if (rngSoon() < 0.3) {
    // A certificate bound to the service, for other names, that expires hours to days after the
    // onset: a risk to warn of, never the cause.
    const names = [`next.${hostOf('svc-a')}`];
    const soon: GenCert = {
      sha256: Array.from({ length: 64 }, () => '0123456789abcdef'[Math.floor(rngSoon() * 16)]).join(''),
      subject: `CN=${names[0]}`,
      issuer: ca.subject,
      issuerSha256: ca.sha256,
      notBeforeMs: onsetMs - 90 * DAY,
      notAfterMs: onsetMs + logUniform(rngSoon, 120, 10 * 1440) * MIN,
      dnsNames: names,
      isCA: false,
    };
    certs.push(soon);
    inventory.push({ cert: soon, ts: start + HOUR, service: 'svc-a', name: 'svc-a-next' });
    distractors.push('expiring_soon');
  }

  const events: { ts: number; e: CorrelatorEvent }[] = [];
  const certObs = (c: GenCert, ts: number, source: CertObservation['source'], extra: Partial<CertObservation>): CertObservation => ({
    ts: iso(ts),
    source,
    sha256: c.sha256,
    subject: c.subject,
    issuer: c.issuer,
    serial: c.sha256.slice(0, 16),
    notBefore: iso(c.notBeforeMs),
    notAfter: iso(c.notAfterMs),
    dnsNames: c.dnsNames,
    isCA: c.isCA,
    ...(c.issuerSha256 ? { issuerSha256: c.issuerSha256 } : {}),
    ...extra,
  });
  for (const i of inventory) events.push({ ts: i.ts, e: { kind: 'cert', value: certObs(i.cert, i.ts, 'file', { ...(i.service ? { service: i.service } : {}), ...(i.name ? { name: i.name } : {}) }) } });

  // Probes: every minute from 6 hours before the onset (or the start), 2–3 regions.
  const probeFrom = Math.max(start, onsetMs - 6 * HOUR - (lagMinutes ?? 0) * MIN);
  if (probes) {
    const regions = ['eu-west', 'us-east', 'ap-south'].slice(0, 2 + Math.floor(rng() * 2));
    for (const s of SERVICES) {
      const url = `https://${hostOf(s)}/`;
      for (let t = probeFrom; t < endMs; t += MIN) {
        const now = served[s]!.filter((x) => x.fromMs <= t).at(-1)!;
        if ((t - probeFrom) % HOUR === 0 || served[s]!.some((x) => x.fromMs > t - MIN && x.fromMs <= t)) {
          for (const [k, c] of now.chain.entries()) events.push({ ts: t, e: { kind: 'cert', value: certObs(c, t, 'probe', k === 0 ? { endpoint: url, service: s } : { endpoint: url }) } });
        }
        for (const region of regions) {
          const ts = t + Math.floor(rng() * 5000);
          const f = failures.find((x) => x.service === s && ts >= x.fromMs);
          const flake = !f && rng() < 0.003;
          const chain = f?.chain ?? now.chain;
          const p: ProbeResult = {
            id: `p-${seed}-${s}-${region}-${t / MIN}`,
            ts: iso(ts),
            probe: `https-${s}`,
            service: s,
            target: url,
            region,
            ok: !f && !flake,
            durationMs: 100,
            ...(f?.httpStatus ? { httpStatus: f.httpStatus } : !f && !flake ? { httpStatus: 200 } : {}),
            ...(f ? { error: { code: f.code, message: f.code.toLowerCase() } } : flake ? { error: { code: 'ETIMEDOUT', message: 'timeout' } } : {}),
            ...(f?.code === 'ENOTFOUND' ? {} : { tls: { leafSha256: chain[0]!.sha256, chainSha256: chain.map((c) => c.sha256), validTo: iso(chain[0]!.notAfterMs) } }),
          };
          events.push({ ts, e: { kind: 'probe', value: p } });
        }
      }
    }
  }

  // Status posts.
  if (posts) {
    const mention = certCause ? rng() < 0.6 : rng() < 0.1;
    const post: StatusPost = {
      id: `post-${seed}`,
      ts: iso(onsetMs + Math.floor(5 + rng() * 40) * MIN),
      service: 'svc-a',
      account: 'GeneratedStatus',
      text: mention ? 'We are investigating an issue with an expired certificate.' : 'We are investigating reports of problems.',
    };
    events.push({ ts: Date.parse(post.ts), e: { kind: 'post', value: post } });
  }

  // Reports: an over-dispersed seasonal background per service, plus the outages.
  let serviceDays = 0;
  // Few regions and problem types: each is a slice the detector closes every minute.
  const problems: NonNullable<UserReport['problem']>[] = ['login', 'connection', 'other'];
  const regions = ['US', 'US', 'GB', 'DE'];
  for (const s of SERVICES) {
    // Busy backgrounds cost replay time without changing what the hints see: 0.1–10 a minute at the peak.
    const peak = logUniform(rng, 0.1, s === 'svc-a' || s === 'svc-b' ? 10 : 3);
    const phi = logUniform(rng, 0.01, 1);
    const peakHour = rng() * 24;
    const trough = 0.1 + rng() * 0.4;
    const weekend = 0.4 + rng() * 0.6;
    const mine = outages.filter((x) => x.service === s);
    serviceDays += mine.length > 0 ? historyDays : (endMs - start) / DAY;
    const flooder = dirty && rng() < 0.3 ? start + Math.floor(rng() * historyDays) * DAY + Math.floor(rng() * 1440) * MIN : undefined;
    let n = 0;
    for (let t = start; t < endMs; t += MIN) {
      const d = new Date(t);
      let dh = Math.abs(d.getUTCHours() + d.getUTCMinutes() / 60 - peakHour);
      dh = Math.min(dh, 24 - dh);
      const daily = trough + (1 - trough) * Math.exp(-((dh / 4.5) ** 2));
      const dow = d.getUTCDay();
      let count = negBinomial(rng, peak * daily * (dow === 0 || dow === 6 ? weekend : 1), phi);
      for (const x of mine) {
        const m = (t - x.onsetMs) / MIN;
        if (m < 0) continue;
        const r = m < ramp ? (x.rate * (m + 1)) / (ramp + 1) : m < ramp + plateau ? x.rate : 0;
        count += poisson(rng, r * Math.exp(0.2 * (rng() - 0.5)));
      }
      const flood = flooder !== undefined && t >= flooder && t < flooder + 10 * MIN ? 10 : 0;
      for (let k = 0; k < count + flood; k++) {
        let ts = t + Math.floor(rng() * MIN);
        if (dirty && rng() < 0.05) ts += Math.floor((rng() - 0.5) * 4 * MIN);
        const r: UserReport = {
          id: `r-${seed}-${s}-${n++}`,
          ts: iso(ts),
          service: s,
          channel: 'web',
          problem: pick(problems),
          region: pick(regions),
          ...(k >= count ? { author: `flooder-${seed}` } : rng() < 0.6 ? { author: `u${Math.floor(rng() * 1e9).toString(36)}` } : {}),
        };
        events.push({ ts, e: { kind: 'report', value: r } });
        // Redelivery: the same report again, a little later.
        if (dirty && rng() < 0.03) events.push({ ts: ts + Math.floor(rng() * 10 * MIN), e: { kind: 'report', value: r } });
      }
    }
  }
  events.sort((a, b) => a.ts - b.ts);
  return {
    seed,
    variant,
    catalog,
    events: events.map((x) => x.e),
    endMs,
    onsetMs,
    historyDays,
    ratePerMin,
    ...(lagMinutes !== undefined ? { lagMinutes } : {}),
    probes,
    posts,
    dirty,
    distractors,
    truth,
    serviceDays,
  };
}
