/**
 * The certificate inventory's metrics, in the shape x509-certificate-exporter users expect: one
 * series per certificate and place with its validity as Unix seconds, plus scan errors by reason,
 * and the early warnings by level (set where the warnings are computed, `storeWarnings`).
 *
 * ```
 * outage_cert_not_after_seconds{sha256="bd61…",name="teams-auth-token-signing",subject_cn="teams-auth-token-signing",
 *   issuer_cn="Example Global Root CA",service="",source="file",place="certs/teams-auth-token-signing.pem"} 1580736660
 * outage_cert_not_before_seconds{…} 1517664660
 * outage_cert_expired{…} 1
 * outage_cert_scan_errors_total{reason="malformed"} 3
 * outage_cert_warnings{level="expired"} 2
 * ```
 *
 * Labels are bounded: per certificate and place (as many as the inventory holds, each value cut to
 * 128 characters), `reason` and `level` are enums. A certificate that a later scan of the same
 * directory or URL list no longer finds loses its series; a scan that fails as a whole (it throws,
 * or finds nothing but errors) keeps the series of its last good scan (an unmounted volume or an
 * unreachable URL must not look like removed certificates).
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { CertObservation } from '../../schemas/contracts.ts';
import { certKey } from '../../schemas/topics.ts';
import { commonName } from '../../lib/certs/facts.ts';
import type { ExpiryWarning, WarningLevel } from '../../lib/certs/warnings.ts';

/** Why a file, URL or scan failed: a bounded enum for the error counter, never the message. */
export const SCAN_ERROR_REASONS = [
  'unreadable',
  'skipped_path',
  'too_large',
  'fetch_failed',
  'password',
  'not_a_certificate',
  'malformed',
  'contract',
  'scan_failed',
  'other',
] as const;
export type ScanErrorReason = (typeof SCAN_ERROR_REASONS)[number];

/**
 * Scanner messages (lib/certs/scan.ts, sources.ts) to reasons, first match wins. A message may be
 * prefixed with the endpoint of a document it came from, so the patterns are not anchored.
 */
const REASON_TABLE: [RegExp, ScanErrorReason][] = [
  [/PKCS#12 store, but no password|PKCS#12: wrong password/, 'password'],
  [/larger than \d+ bytes/, 'too_large'],
  [/(^|: )HTTP \d{3}$|cannot fetch:/, 'fetch_failed'],
  [/permission denied|cannot read \(|cannot list the directory|symlink loop \(ELOOP\)/, 'unreadable'],
  [/not a regular file|symlink/, 'skipped_path'],
  [/refused by the CertObservation contract/, 'contract'],
  [/not a certificate|no certificate in the file|holds no certificates|JSON, but not|empty file/, 'not_a_certificate'],
  [/truncated PEM|bad base64|trailing garbage|not a valid|not valid JSON|YAML:|not a base64 string|lacks serial_number|not a readable PKCS#12|cannot parse/, 'malformed'],
];

/**
 * @example scanErrorReason('truncated PEM: "BEGIN CERTIFICATE" has no matching END line') // 'malformed'
 */
export function scanErrorReason(message: string): ScanErrorReason {
  return REASON_TABLE.find(([re]) => re.test(message))?.[1] ?? 'other';
}

const LABELS = ['sha256', 'name', 'subject_cn', 'issuer_cn', 'service', 'source', 'place'] as const;
type CertLabels = Record<(typeof LABELS)[number], string>;
const MAX_LABEL = 128;
const cut = (s: string | undefined) => (s ?? '').slice(0, MAX_LABEL);

interface Series {
  labels: CertLabels;
  notBefore: number;
  notAfter: number;
}

export interface InventoryMetrics {
  /**
   * The certificates one scan of `where` (a directory, or the URL list) found now: replaces that
   * scan's series. `serviceOf` names the services a certificate serves (joined with `,`).
   */
  observed(where: string, observations: readonly CertObservation[], serviceOf?: (o: CertObservation) => string[]): void;
  scanError(reason: ScanErrorReason): void;
}

export interface InventoryMetricsOptions {
  /** The clock for `outage_cert_expired`, read at every scrape. */
  now?: () => number;
}

const byRegistry = new WeakMap<Registry, InventoryMetrics>();

/** The inventory metrics of `registry`, registered once (serve and tests scan repeatedly into one registry). */
export function inventoryMetrics(registry: Registry, opts: InventoryMetricsOptions = {}): InventoryMetrics {
  const existing = byRegistry.get(registry);
  if (existing) return existing;
  const now = opts.now ?? Date.now;
  const registers = [registry];
  const byWhere = new Map<string, Map<string, Series>>();
  const all = () => [...byWhere.values()].flatMap((m) => [...m.values()]);

  const notAfter = new Gauge({ name: 'outage_cert_not_after_seconds', help: 'notAfter of a certificate at a place, Unix seconds', labelNames: LABELS, registers });
  const notBefore = new Gauge({ name: 'outage_cert_not_before_seconds', help: 'notBefore of a certificate at a place, Unix seconds', labelNames: LABELS, registers });
  new Gauge({
    name: 'outage_cert_expired',
    help: 'Whether a certificate at a place has expired (1) or not (0), at the time of the scrape',
    labelNames: LABELS,
    registers,
    collect() {
      this.reset();
      const t = now();
      for (const s of all()) this.set(s.labels, s.notAfter * 1000 <= t ? 1 : 0);
    },
  });
  const errors = new Counter({ name: 'outage_cert_scan_errors_total', help: 'Certificate files, URLs or scans that failed, by reason', labelNames: ['reason'], registers });
  for (const reason of SCAN_ERROR_REASONS) errors.inc({ reason }, 0);

  const m: InventoryMetrics = {
    observed(where, observations, serviceOf) {
      const series = new Map<string, Series>();
      for (const o of observations) {
        const services = [...new Set([...(o.service ? [o.service] : []), ...(serviceOf?.(o) ?? [])])].sort();
        const labels: CertLabels = {
          sha256: o.sha256,
          name: cut(o.name),
          subject_cn: cut(commonName(o.subject)),
          issuer_cn: cut(commonName(o.issuer)),
          service: cut(services.join(',')),
          source: o.source,
          place: cut(certKey(o).split('|')[1]),
        };
        series.set(LABELS.map((l) => labels[l]).join('\u0000'), { labels, notBefore: Date.parse(o.notBefore) / 1000, notAfter: Date.parse(o.notAfter) / 1000 });
      }
      byWhere.set(where, series);
      notAfter.reset();
      notBefore.reset();
      for (const s of all()) {
        notAfter.set(s.labels, s.notAfter);
        notBefore.set(s.labels, s.notBefore);
      }
    },
    scanError(reason) {
      errors.inc({ reason });
    },
  };
  byRegistry.set(registry, m);
  return m;
}

const LEVELS: WarningLevel[] = ['expired', 'critical', 'high', 'warning', 'notice'];
const warningGauges = new WeakMap<Registry, Gauge<'level'>>();

/**
 * Sets `outage_cert_warnings{level}` to the number of early warnings of each level (every level,
 * 0 when none), in the registry of the process that computed them.
 *
 * @example recordWarnings(metrics.registry, await storeWarnings(store, catalog, Date.now()))
 */
export function recordWarnings(registry: Registry, warnings: readonly ExpiryWarning[]): void {
  let gauge = warningGauges.get(registry);
  if (!gauge) {
    gauge = new Gauge({ name: 'outage_cert_warnings', help: 'Certificates with an early warning, by level (the latest computation)', labelNames: ['level'], registers: [registry] });
    warningGauges.set(registry, gauge);
  }
  for (const level of LEVELS) gauge.set({ level }, warnings.filter((w) => w.level === level).length);
}
