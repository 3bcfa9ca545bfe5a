/** The readable form of one check (`outage probe <url>`), like a good `openssl s_client` summary. */
import type { ProbeOutcome } from '../services/prober/probes/index.ts';

const DAY = 86_400_000;
const ms = (v: number | undefined) => (v === undefined ? '—' : `${v} ms`);

export function formatProbe({ result, chain }: ProbeOutcome, nowMs: number): string {
  const r = result;
  const lines = [`${r.target}  ${r.ok ? 'UP' : `DOWN  ${r.error?.code}: ${r.error?.message}`}`];
  const p = r.phases ?? {};
  const facts = [
    ...(p.dnsMs !== undefined ? [`dns ${ms(p.dnsMs)}`] : []),
    ...(p.connectMs !== undefined ? [`connect ${ms(p.connectMs)}`] : []),
    ...(p.tlsMs !== undefined ? [`tls ${ms(p.tlsMs)}`] : []),
    ...(p.ttfbMs !== undefined ? [`first byte ${ms(p.ttfbMs)}`] : []),
    `total ${ms(r.durationMs)}`,
    ...(r.httpStatus !== undefined ? [`HTTP ${r.httpStatus}`] : []),
    ...(r.tls?.protocol ? [`${r.tls.protocol} ${r.tls.cipher ?? ''}`.trim()] : []),
  ];
  lines.push(`  ${facts.join(' · ')}`);
  if (chain.length > 0) {
    // Node completes the chain it verified with the trusted root, when it has one.
    lines.push(`  certificate chain (${chain.length}, leaf first):`);
    chain.forEach((c, i) => {
      const left = (Date.parse(c.notAfter) - nowMs) / DAY;
      const state = Date.parse(c.notBefore) > nowMs ? 'NOT YET VALID' : left < 0 ? `EXPIRED ${Math.floor(-left)} days ago` : `${Math.floor(left)} days left`;
      lines.push(
        `   ${i}  ${c.subject}${c.isCA ? '  [CA]' : ''}`,
        `      issuer   ${c.issuer}`,
        ...(c.dnsNames.length > 0 ? [`      names    ${c.dnsNames.join(', ')}`] : []),
        `      valid    ${c.notBefore} → ${c.notAfter}  (${state})`,
        `      sha256   ${c.sha256}`,
      );
    });
  }
  return lines.join('\n');
}
