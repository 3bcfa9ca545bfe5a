/**
 * The prober's own metrics, derived from results (probes themselves never touch metrics):
 *
 * ```
 * outage_probe_success{probe,region} 0|1                      the last check
 * outage_probe_duration_seconds{probe,region,phase}           histogram; phase = dns, connect, tls, ttfb (first byte), total
 * outage_probe_tls_info{probe,region,version,cipher} 1        what the last handshake negotiated (one series per probe and region)
 * outage_probe_cert_days_left{probe,region}                   days until the earliest expiry in the served chain
 * ```
 */
import { Gauge, Histogram, type Registry } from 'prom-client';
import type { ProbeResult } from '../../schemas/contracts.ts';

export interface ProberMetrics {
  observe(result: ProbeResult, certDaysLeft?: number): void;
}

/** Result phase fields to `phase` label values (bounded: these and `total`). */
const PHASES = { dnsMs: 'dns', connectMs: 'connect', tlsMs: 'tls', ttfbMs: 'ttfb' } as const satisfies Record<keyof NonNullable<ProbeResult['phases']>, string>;

/** Label values the server chose are cut, so a hostile endpoint cannot grow a label without bound. */
const cut = (s: string) => s.slice(0, 64);

export function createProberMetrics(registry: Registry): ProberMetrics {
  const registers = [registry];
  const success = new Gauge({ name: 'outage_probe_success', help: '1 when the last check passed', labelNames: ['probe', 'region'], registers });
  const duration = new Histogram({
    name: 'outage_probe_duration_seconds',
    help: 'Check duration by phase (dns, connect, tls, ttfb, total)',
    labelNames: ['probe', 'region', 'phase'],
    buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const tlsInfo = new Gauge({
    name: 'outage_probe_tls_info',
    help: 'TLS version and cipher the last handshake of a probe negotiated (always 1)',
    labelNames: ['probe', 'region', 'version', 'cipher'],
    registers,
  });
  const daysLeft = new Gauge({ name: 'outage_probe_cert_days_left', help: 'Days until the earliest expiry in the served chain', labelNames: ['probe', 'region'], registers });
  /** The TLS labels last set per probe and region, removed when the handshake changes. */
  const lastTls = new Map<string, { version: string; cipher: string }>();
  return {
    observe(r, certDaysLeft) {
      const labels = { probe: r.probe, region: r.region ?? '' };
      success.set(labels, r.ok ? 1 : 0);
      duration.observe({ ...labels, phase: 'total' }, r.durationMs / 1000);
      for (const [field, phase] of Object.entries(PHASES)) {
        const ms = r.phases?.[field as keyof typeof PHASES];
        if (ms !== undefined) duration.observe({ ...labels, phase }, ms / 1000);
      }
      if (r.tls?.protocol) {
        const key = `${labels.probe}\u0000${labels.region}`;
        const tls = { version: cut(r.tls.protocol), cipher: cut(r.tls.cipher ?? '') };
        const before = lastTls.get(key);
        if (before && (before.version !== tls.version || before.cipher !== tls.cipher)) tlsInfo.remove({ ...labels, ...before });
        tlsInfo.set({ ...labels, ...tls }, 1);
        lastTls.set(key, tls);
      }
      if (certDaysLeft !== undefined) daysLeft.set(labels, certDaysLeft);
    },
  };
}
