/**
 * A seeded generator of scenario directories: seasonal background reports (time of day, day of
 * week), per-minute probes from several regions with rare one-off flakes, and optional outages
 * (a ramp, a plateau, a decay) with probe failures. Same seed, same bytes. Tests, benchmarks and
 * the bundled examples use it; users can try the detector at scale without data of their own.
 */
import { createWriteStream, mkdirSync, writeFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { stringify } from 'yaml';
import type { CertObservation, ProbeResult, UserReport } from '../../schemas/contracts.ts';
import { endpointsOf, type CatalogService } from '../catalog.ts';

const MINUTE = 60_000;
const DAY = 86_400_000;

/** mulberry32: a small, fast, seedable PRNG (deterministic across platforms). */
export function createRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Poisson sample: Knuth's method for small means, a rounded normal for large ones. */
export function poisson(rng: () => number, lambda: number): number {
  if (lambda <= 0) return 0;
  if (lambda < 30) {
    const l = Math.exp(-lambda);
    let k = 0;
    let p = 1;
    do {
      k++;
      p *= rng();
    } while (p > l);
    return k - 1;
  }
  const z = Math.sqrt(-2 * Math.log(rng() || 1e-12)) * Math.cos(2 * Math.PI * rng());
  return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * z));
}

export interface ServiceSpec extends CatalogService {
  /** Mean reports per minute at the daily peak on a weekday. */
  peakRatePerMin: number;
  /** Hour (UTC) of the daily peak. */
  peakHourUtc: number;
}

export interface OutageSpec {
  service: string;
  /** First minute of the rise. */
  startIso: string;
  /** Minutes from the first rise to the plateau. */
  rampMinutes: number;
  /** Reports per minute on the plateau (on top of the background). */
  plateauPerMin: number;
  plateauMinutes: number;
  /** Minutes for the decay back to background. */
  decayMinutes: number;
  /** Share of the outage's reports that name this problem. */
  problem?: UserReport['problem'];
}

export interface ProbeFailureSpec {
  service: string;
  fromIso: string;
  toIso: string;
  error: { code: string; message: string };
  httpStatus?: number;
  /** TLS facts to attach (e.g. the expired leaf the endpoint serves). */
  tls?: ProbeResult['tls'];
}

export interface ScenarioSpec {
  services: ServiceSpec[];
  startIso: string;
  days: number;
  seed: number;
  outages?: OutageSpec[];
  /** Regions probing every endpoint every minute (empty: no probes). */
  probeRegions?: string[];
  /** Probes are written only in [probesFromIso, probesToIso) (default: the whole span). */
  probesFromIso?: string;
  probesToIso?: string;
  probeFailures?: ProbeFailureSpec[];
  /** TLS facts of healthy probes, per service. */
  probeTls?: Record<string, ProbeResult['tls']>;
  /** Write `reports.ndjson.gz` / `probes.ndjson.gz` instead of plain NDJSON (for committed examples). */
  gzipReports?: boolean;
  gzipProbes?: boolean;
  onProgress?: (day: number, days: number) => void;
}

const REGIONS = ['US', 'US', 'US', 'GB', 'DE', 'FR', 'IN', 'BR', 'JP', 'CA'];
const CHANNELS: UserReport['channel'][] = ['web', 'web', 'app', 'app', 'api'];
const PROBLEMS: NonNullable<UserReport['problem']>[] = ['login', 'connection', 'messaging', 'calls', 'website', 'other'];
const TEXTS = ['is it down?', 'not loading for me', 'keeps disconnecting', 'cannot sign in', 'error page', 'really slow today'];

/** Expected background reports per minute: a daily bump around the peak hour, quieter weekends. */
export function backgroundRate(s: ServiceSpec, tMs: number): number {
  const d = new Date(tMs);
  const h = d.getUTCHours() + d.getUTCMinutes() / 60;
  let dh = Math.abs(h - s.peakHourUtc);
  dh = Math.min(dh, 24 - dh);
  const daily = 0.25 + 0.75 * Math.exp(-((dh / 4.5) ** 2));
  const dow = d.getUTCDay();
  const weekly = dow === 0 || dow === 6 ? 0.55 : 1;
  return s.peakRatePerMin * daily * weekly;
}

function outageRate(o: OutageSpec, tMs: number): number {
  const m = (tMs - Date.parse(o.startIso)) / MINUTE;
  if (m < 0) return 0;
  if (m < o.rampMinutes) return (o.plateauPerMin * (m + 1)) / o.rampMinutes;
  if (m < o.rampMinutes + o.plateauMinutes) return o.plateauPerMin;
  const k = m - o.rampMinutes - o.plateauMinutes;
  return k < o.decayMinutes ? o.plateauPerMin * (1 - k / o.decayMinutes) : 0;
}

class LineWriter {
  private buf: string[] = [];
  private readonly out: Writable;
  private readonly done: Promise<void>;
  constructor(file: WriteStream, gzip = false) {
    this.out = gzip ? createGzip({ level: 9 }) : file;
    if (gzip) this.out.pipe(file);
    this.done = new Promise((resolve, reject) => {
      file.on('close', resolve);
      file.on('error', reject);
    });
  }
  async write(line: string): Promise<void> {
    this.buf.push(line);
    if (this.buf.length >= 2000) await this.flush();
  }
  async flush(): Promise<void> {
    if (this.buf.length === 0) return;
    const ok = this.out.write(`${this.buf.join('\n')}\n`);
    this.buf = [];
    if (!ok) await new Promise<void>((r) => this.out.once('drain', () => r()));
  }
  async close(): Promise<void> {
    await this.flush();
    this.out.end();
    await this.done;
  }
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Writes `catalog.yaml`, `reports.ndjson` and `probes.ndjson` of a spec into `dir`. */
export async function writeScenario(dir: string, spec: ScenarioSpec): Promise<{ reports: number; probes: number }> {
  mkdirSync(dir, { recursive: true });
  const catalog = {
    services: spec.services.map(({ peakRatePerMin: _r, peakHourUtc: _h, ...svc }) => svc),
  };
  writeFileSync(join(dir, 'catalog.yaml'), stringify(catalog, { lineWidth: 120 }));
  const rng = createRng(spec.seed);
  const reports = new LineWriter(createWriteStream(join(dir, spec.gzipReports ? 'reports.ndjson.gz' : 'reports.ndjson')), spec.gzipReports);
  const regions = spec.probeRegions ?? [];
  const probes = regions.length > 0 ? new LineWriter(createWriteStream(join(dir, spec.gzipProbes ? 'probes.ndjson.gz' : 'probes.ndjson')), spec.gzipProbes) : undefined;
  const start = Date.parse(spec.startIso);
  const end = start + spec.days * DAY;
  const probesFrom = spec.probesFromIso ? Date.parse(spec.probesFromIso) : start;
  const probesTo = spec.probesToIso ? Date.parse(spec.probesToIso) : end;
  let nReports = 0;
  let nProbes = 0;
  for (let t = start; t < end; t += MINUTE) {
    if ((t - start) % DAY === 0) spec.onProgress?.((t - start) / DAY + 1, spec.days);
    const minute: { ts: number; line: string; probe: boolean }[] = [];
    for (const [si, s] of spec.services.entries()) {
      const outages = (spec.outages ?? []).filter((o) => o.service === s.id);
      const extra = outages.reduce((sum, o) => sum + outageRate(o, t), 0);
      const n = poisson(rng, backgroundRate(s, t) + extra);
      const outageShare = extra > 0 ? extra / (backgroundRate(s, t) + extra) : 0;
      for (let k = 0; k < n; k++) {
        const ts = t + Math.floor(rng() * MINUTE);
        const fromOutage = rng() < outageShare;
        const problem = fromOutage && outages[0]?.problem && rng() < 0.7 ? outages[0].problem : PROBLEMS[Math.floor(rng() * PROBLEMS.length)]!;
        const r: UserReport = {
          id: `r-${si}-${(t / MINUTE).toString(36)}-${k}`,
          ts: iso(ts),
          service: s.id,
          channel: CHANNELS[Math.floor(rng() * CHANNELS.length)]!,
          problem,
          region: REGIONS[Math.floor(rng() * REGIONS.length)]!,
          ...(rng() < 0.3 ? { text: `${s.name} ${TEXTS[Math.floor(rng() * TEXTS.length)]}` } : {}),
          ...(rng() < 0.6 ? { author: `user${Math.floor(rng() * 1e9).toString(36)}` } : {}),
        };
        minute.push({ ts, line: JSON.stringify(r), probe: false });
      }
      if (probes && t >= probesFrom && t < probesTo) {
        for (const { url: endpoint } of endpointsOf(s)) {
          for (const region of regions) {
            const ts = t + Math.floor(rng() * 5000);
            const failure = (spec.probeFailures ?? []).find((f) => f.service === s.id && ts >= Date.parse(f.fromIso) && ts < Date.parse(f.toIso));
            const flake = !failure && rng() < 0.002;
            const scheme = new URL(endpoint).protocol.slice(0, -1);
            // A plain http:// check has no TLS part.
            const tls = scheme === 'http' ? undefined : (failure?.tls ?? spec.probeTls?.[s.id]);
            const p: ProbeResult = {
              id: `p-${si}-${region}-${(t / MINUTE).toString(36)}`,
              ts: iso(ts),
              probe: `${scheme}-${s.id}`,
              service: s.id,
              target: endpoint,
              region,
              ok: !failure && !flake,
              durationMs: flake ? 10_000 : Math.round(80 + rng() * 120),
              ...(failure?.httpStatus ? { httpStatus: failure.httpStatus } : !failure && !flake ? { httpStatus: 200 } : {}),
              ...(failure ? { error: failure.error } : flake ? { error: { code: 'ETIMEDOUT', message: 'timeout after 10000 ms' } } : {}),
              ...(tls ? { tls } : {}),
            };
            minute.push({ ts, line: JSON.stringify(p), probe: true });
            nProbes++;
          }
        }
      }
    }
    minute.sort((a, b) => a.ts - b.ts);
    for (const e of minute) {
      if (e.probe) await probes!.write(e.line);
      else {
        await reports.write(e.line);
        nReports++;
      }
    }
  }
  await reports.close();
  await probes?.close();
  return { reports: nReports, probes: nProbes };
}

export interface GenerateOptions {
  dir: string;
  services: number;
  days: number;
  seed: number;
  peakRatePerMin: number;
  probeRegions: number;
  startIso: string;
  /** Adds an outage without any cause evidence to the first service on the last day. */
  outage: boolean;
  onProgress?: (day: number, days: number) => void;
}

/** The id and host of the `n`th service (from 1) of `outage generate`. */
const generatedId = (n: number) => `service-${String(n).padStart(2, '0')}`;
const generatedHost = (n: number) => `service-${n}.example.com`;

/** The `outage generate` scenario: N services with rates spread over two orders of magnitude. */
export async function generateScenario(o: GenerateOptions): Promise<{ reports: number; probes: number }> {
  const services: ServiceSpec[] = Array.from({ length: o.services }, (_, i) => ({
    id: generatedId(i + 1),
    name: `Service ${i + 1}`,
    endpoints: [`https://${generatedHost(i + 1)}/`],
    hosts: [generatedHost(i + 1)],
    peakRatePerMin: o.peakRatePerMin / (1 + i * 0.8),
    peakHourUtc: (13 + i * 3) % 24,
  }));
  const outageStart = Date.parse(o.startIso) + (o.days - 1) * DAY + 14 * 3_600_000;
  return writeScenario(o.dir, {
    services,
    startIso: o.startIso,
    days: o.days,
    seed: o.seed,
    probeRegions: ['eu-west', 'us-east', 'ap-south'].slice(0, Math.max(0, Math.min(3, o.probeRegions))),
    ...(o.outage
      ? {
          outages: [
            { service: services[0]!.id, startIso: iso(outageStart), rampMinutes: 10, plateauPerMin: o.peakRatePerMin * 10, plateauMinutes: 60, decayMinutes: 60 },
          ],
        }
      : {}),
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
  });
}

export interface CertificateOptions {
  /** The services of `outage generate` (`service-01` …), as many as it wrote. */
  services: number;
  /** Certificates in all, spread evenly over the services. */
  certificates: number;
  seed: number;
  /** The first report's day: all are observed in the hour before it; none expires within a year. */
  startIso: string;
}

/**
 * Writes `certs.ndjson` into a scenario of `outage generate`: healthy leaf certificates bound to
 * its services (as the inventory or a probe reports them), for measuring a correlator that holds
 * many. Observed over the hour before the start (as an inventory sweep would), so they are all in
 * the table before any report.
 */
export async function writeCertificates(dir: string, o: CertificateOptions): Promise<{ certs: number }> {
  const rng = createRng(o.seed);
  const hex = (n: number) => Array.from({ length: n }, () => '0123456789abcdef'[Math.floor(rng() * 16)]).join('');
  const out = new LineWriter(createWriteStream(join(dir, 'certs.ndjson')));
  const start = Date.parse(o.startIso);
  const issuer = 'CN=Generated Issuing CA,O=Example';
  for (let i = 0; i < o.certificates; i++) {
    const s = (i % o.services) + 1;
    const host = generatedHost(s);
    const notBefore = start - Math.floor(rng() * 300) * DAY;
    const c: CertObservation = {
      ts: iso(start - 60 * MINUTE + Math.floor((i * 60 * MINUTE) / o.certificates)),
      source: rng() < 0.5 ? 'probe' : 'file',
      sha256: hex(64),
      subject: `CN=${Math.floor(i / o.services) === 0 ? host : `api-${Math.floor(i / o.services)}.${host}`}`,
      issuer,
      serial: hex(16),
      notBefore: iso(notBefore),
      notAfter: iso(start + (400 + Math.floor(rng() * 400)) * DAY),
      dnsNames: [host],
      isCA: false,
      service: generatedId(s),
      endpoint: `${host}:443`,
    };
    await out.write(JSON.stringify(c));
  }
  await out.close();
  return { certs: o.certificates };
}
