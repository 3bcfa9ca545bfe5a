/**
 * Filtered-stream rules from the catalog, and their sync with the X API: ours are recognised by
 * the tag prefix; missing ones are added, stale ones deleted, and other people's rules are left
 * alone unless told otherwise.
 */
import type { TwitterApiv2 } from 'twitter-api-v2';
import type { Catalog } from '../../lib/catalog.ts';

export interface StreamRule {
  value: string;
  tag: string;
}

/** The API refuses longer rules (512 characters on the basic tiers). */
const MAX_RULE = 512;

const quote = (k: string) => (/^[#@]?\w+$/.test(k) ? k : `"${k.replace(/"/g, '')}"`);

/** Service keyword rules (tag `<prefix>svc:<id>`) and one `from:` rule per status account group. */
export function buildRules(catalog: Catalog, prefix: string): StreamRule[] {
  const rules: StreamRule[] = [];
  const pack = (terms: string[], suffix: string, tag: string) => {
    let part: string[] = [];
    let n = 0;
    const flush = () => {
      if (part.length === 0) return;
      rules.push({ value: `(${part.join(' OR ')})${suffix}`, tag: n === 0 ? tag : `${tag}#${n + 1}` });
      n++;
      part = [];
    };
    for (const t of terms) {
      if (`(${[...part, t].join(' OR ')})${suffix}`.length > MAX_RULE) flush();
      part.push(t);
    }
    flush();
  };
  for (const s of catalog.services) {
    const terms = [...new Set([s.name, ...(s.keywords ?? [])].map(quote))];
    pack(terms, ' -is:retweet', `${prefix}svc:${s.id}`);
  }
  const accounts = [...new Set(catalog.services.flatMap((s) => s.statusAccounts ?? []))].sort();
  if (accounts.length > 0) pack(accounts.map((a) => `from:${a}`), '', `${prefix}status`);
  return rules;
}

export interface SyncResult {
  added: StreamRule[];
  deleted: string[];
  kept: number;
}

/**
 * Makes the stream's rules match `desired`.
 *
 * @param leaveOthers keep rules whose tag does not carry our prefix (another team's)
 */
export async function syncRules(v2: TwitterApiv2, desired: StreamRule[], prefix: string, leaveOthers = true): Promise<SyncResult> {
  const existing = (await v2.streamRules()).data ?? [];
  const key = (r: { value: string; tag?: string }) => `${r.tag ?? ''}\u0000${r.value}`;
  const want = new Set(desired.map(key));
  const have = new Set(existing.map(key));
  const stale = existing.filter((r) => !want.has(key(r)) && (!leaveOthers || (r.tag ?? '').startsWith(prefix)));
  const missing = desired.filter((r) => !have.has(key(r)));
  if (stale.length > 0) await v2.updateStreamRules({ delete: { ids: stale.map((r) => r.id) } });
  if (missing.length > 0) await v2.updateStreamRules({ add: missing });
  return { added: missing, deleted: stale.map((r) => r.id), kept: existing.length - stale.length };
}
