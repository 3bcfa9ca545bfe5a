/**
 * What a scenario's `expected.yaml` asserts about a replay's incidents, checked in one place so
 * every scenario (bundled examples, the test corpus, an evaluation set) is judged the same way.
 *
 *   incidents:            # each must be matched by one incident of that service
 *     - service: teams
 *       onsetBetween: [iso, iso]
 *       detectedBy: iso
 *       status: open | resolved
 *       firstHint: { kind, certName?, certSha256?, relatedService?, minConfidence? }
 *       mentions: [text that the first hint's summary contains]
 *       hasHint: [kinds that must be among the hints]
 *       noHint: [kinds that must not be among the hints]
 *   noOtherIncidents: true   # no incident beyond those listed
 *   sameOutage: [[api, payments]]  # the incidents of these services share one outage id
 *   duplicatesDropped: 123   # redelivered reports the correlator dropped as duplicates
 *   neverBlamed: [sha256]    # no hint blaming these certificates reaches 0.5
 *   noCertificateBlame: true # no certificate hint of any incident reaches 0.5
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { Incident } from '../../schemas/contracts.ts';

export interface Expected {
  description?: string;
  incidents?: {
    service: string;
    onsetBetween?: [string, string];
    detectedBy?: string;
    status?: 'open' | 'resolved';
    firstHint?: { kind: string; certName?: string; certSha256?: string; relatedService?: string; minConfidence?: number };
    mentions?: string[];
    hasHint?: string[];
    noHint?: string[];
  }[];
  noOtherIncidents?: boolean;
  sameOutage?: string[][];
  duplicatesDropped?: number;
  neverBlamed?: string[];
  noCertificateBlame?: boolean;
}

export function loadExpected(file: string): Expected {
  return parse(readFileSync(file, 'utf8')) as Expected;
}

const CERT_KINDS = new Set(['cert_expired', 'chain_expired', 'cert_not_yet_valid', 'renewal_not_deployed', 'cert_expiring']);
/** Kinds that name a certificate as the cause (a renewal hint names the fix, not the culprit). */
const BLAME_KINDS = new Set(['cert_expired', 'chain_expired', 'cert_not_yet_valid']);

/** What a replay counted besides its incidents. */
export interface ReplayCounts {
  dropped?: { duplicateId: number };
}

export function assertExpected(incidents: Incident[], expected: Expected, label: string, counts: ReplayCounts = {}): void {
  const unmatched = [...incidents];
  for (const want of expected.incidents ?? []) {
    const i = unmatched.findIndex((inc) => inc.service === want.service);
    assert.ok(i >= 0, `${label}: no incident for ${want.service}; got ${incidents.map((x) => x.id).join(', ') || 'none'}`);
    const inc = unmatched.splice(i, 1)[0]!;
    const at = (iso: string) => Date.parse(iso);
    if (want.onsetBetween) {
      assert.ok(at(inc.startedAt) >= at(want.onsetBetween[0]) && at(inc.startedAt) <= at(want.onsetBetween[1]), `${label}: onset ${inc.startedAt} not in ${want.onsetBetween.join(' … ')}`);
    }
    if (want.detectedBy) assert.ok(at(inc.detectedAt) <= at(want.detectedBy), `${label}: detected at ${inc.detectedAt}, wanted by ${want.detectedBy}`);
    assert.ok(at(inc.detectedAt) >= at(inc.startedAt), `${label}: detected before the onset`);
    if (want.status) assert.equal(inc.status, want.status, `${label}: status`);
    const top = inc.hints[0];
    if (want.firstHint) {
      assert.ok(top, `${label}: no hints`);
      const h = want.firstHint;
      assert.equal(top.kind, h.kind, `${label}: first hint ${top.kind} (${top.summary})`);
      if (h.certSha256) assert.equal(top.certSha256, h.certSha256, `${label}: first hint's certificate`);
      if (h.certName) assert.equal((top.evidence as { certName?: string }).certName, h.certName, `${label}: first hint's certificate name`);
      if (h.relatedService) assert.equal(top.relatedService, h.relatedService, `${label}: first hint's related service`);
      assert.ok(top.confidence >= (h.minConfidence ?? 0.5), `${label}: first hint confidence ${top.confidence}`);
    }
    for (const kind of want.hasHint ?? []) assert.ok(inc.hints.some((h) => h.kind === kind), `${label}: no ${kind} hint among ${inc.hints.map((h) => h.kind).join(', ')}`);
    for (const kind of want.noHint ?? []) {
      const h = inc.hints.find((x) => x.kind === kind);
      assert.ok(!h, `${label}: ${inc.id} has a ${kind} hint: ${h?.summary}`);
    }
    for (const text of want.mentions ?? []) assert.ok(top?.summary.includes(text), `${label}: first hint does not mention "${text}": ${top?.summary}`);
  }
  for (const group of expected.sameOutage ?? []) {
    const ids = group.map((service) => incidents.find((i) => i.service === service)?.outageId);
    assert.ok(ids[0], `${label}: ${group[0]} has no incident with an outage id`);
    assert.deepEqual(ids, group.map(() => ids[0]), `${label}: outage ids of ${group.join(', ')}`);
  }
  if (expected.duplicatesDropped !== undefined) assert.equal(counts.dropped?.duplicateId, expected.duplicatesDropped, `${label}: redelivered reports dropped`);
  if (expected.noOtherIncidents) assert.deepEqual(unmatched.map((x) => x.id), [], `${label}: unexpected incidents`);
  for (const inc of incidents) {
    for (const h of inc.hints) {
      if (h.confidence < 0.5) continue;
      if (h.certSha256 && BLAME_KINDS.has(h.kind) && expected.neverBlamed?.includes(h.certSha256)) assert.fail(`${label}: ${inc.id} blames ${h.certSha256}: ${h.summary}`);
      if (expected.noCertificateBlame && CERT_KINDS.has(h.kind)) assert.fail(`${label}: ${inc.id} blames a certificate: ${h.summary}`);
    }
  }
}
