/**
 * Classifies a social post: which catalog service it is about, and whether it is a user saying
 * the service fails for them (a complaint), an official status statement, or neither.
 *
 * Deliberately plain and explainable, as the established report-counting sites do it: a post
 * counts only when it names a service (keyword, name, hashtag, mention or host) AND uses outage
 * language about it, and not when the service's short word is used in its ordinary sense (a verb
 * with a particle, a common noun after a quantifier: see `usedAsName`) or the post says it works
 * again. Every service word comes from the catalog (names, keywords, hosts, status accounts).
 */
import { serviceHosts, type Catalog, type CatalogService } from '../../lib/catalog.ts';

export type PostKind = 'complaint' | 'status' | 'other';

export interface Classification {
  kind: PostKind;
  service?: string;
  /** Why, in a few words (for logs and evidence). */
  because: string;
  /** Words naming a cause, from status posts ("certificate", "expired", "dns", …). */
  causeWords: string[];
  /** Incident ids such as TM202916. */
  incidentIds: string[];
  problem?: 'login' | 'connection' | 'messaging' | 'calls' | 'website' | 'other';
}

interface Matcher {
  service: CatalogService;
  /** Strong: keywords, full name, hashtags, mentions, hosts. */
  strong: RegExp[];
  /** Weak: the bare short words of the service (its id, the last word of its name), which may have other senses. */
  weak: string[];
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const phrase = (s: string) => new RegExp(`(^|[^\\p{L}\\p{N}])${esc(s.toLowerCase())}($|[^\\p{L}\\p{N}])`, 'u');

/** The short words of a service: its id and the last word of its name ("Acme Chat" → chat). */
function shortWords(s: CatalogService): string[] {
  const words = new Set<string>();
  if (/^[a-z]+$/.test(s.id)) words.add(s.id);
  const last = s.name.split(/\s+/).pop()!.toLowerCase();
  if (/^[a-z]{4,}$/.test(last) && !['online', 'web', 'service', 'cloud', 'in'].includes(last)) words.add(last);
  return [...words];
}

function matchers(catalog: Catalog): Matcher[] {
  return catalog.services.map((s) => {
    const names = [s.name, ...(s.keywords ?? [])];
    const compact = s.name.toLowerCase().replace(/[^a-z0-9]/g, '');
    const hosts = serviceHosts(s).filter((h) => !h.startsWith('*'));
    const words = shortWords(s);
    const strong = [
      ...names.filter((n) => n.includes(' ') || n.startsWith('#')).map(phrase),
      new RegExp(`[#@](${[compact, ...words].map(esc).join('|')})\\w*`, 'i'),
      ...hosts.map(phrase),
    ];
    return { service: s, strong, weak: words };
  });
}

/** Outage language: the service fails for the writer now. */
const OUTAGE = [
  /\b(is|are|it's|its|seems?|went|goes|going|still|been|keeps? going)\s+(\w+\s+)?down\b/i,
  /\bdown\s*(again|for (me|us|everyone|anyone)|right now|\?|!)/i,
  /#\w*down\b/i,
  /\b(not|isn't|isnt|aren't|arent|won't|wont|can't|cant|cannot|couldn't|unable to|fail(s|ed|ing)? to)\s+(\w+\s+)?(work|working|load|loading|open|opening|connect|connecting|sign|signing|log|logging|send|sending|sync|syncing|join|joining|start|starting|launch|respond|responding|receive|receiving|deliver|refresh)/i,
  /\b(outage|outages|offline|unreachable|unavailable|unusable|broken|borked|dead)\b/i,
  /\b(keeps?|kept)\s+(crashing|freezing|dropping|disconnecting|logging me out|kicking)/i,
  /\b(crash(ed|es|ing)?|froze|freezing|frozen|hangs?|hanging|stuck|spinning|timed? ?out|timeouts?)\b/i,
  /\b(error|errors|50[0234]|aadsts\d*|something went wrong|try again later)\b/i,
  /\b(dropp(ed|ing)|disconnect(ed|ing|s)?)\b.{0,30}\b(call|calls|meeting|meetings)\b/i,
  /\b(anyone else|is it just me|just me or)\b/i,
  /\b(fail|fails|failed|failing|errors? out|erroring)\b/i,
  /\b(not|aren't|arent|never)\s+(coming through|arriving|showing up|showing|getting through|going through|going thru)\b/i,
  /\bkick(ed|s|ing)?\s+(everyone|me|us|all)\s+(out|off)\b/i,
  /\b(problems?|issues?)\s+(with|signing|logging|connecting)\b/i,
];

/**
 * Whether a bare short word (a service's id or the last word of its name, taken from the catalog)
 * is used as that service's name rather than in its ordinary sense. Decided by the grammar around
 * it, never by a list of particular services: a verb with a particle after it ("… in", "… off",
 * "… for"), or a common noun after a quantifier, a possessive or a number ("both …", "our …",
 * "two …") is the ordinary word, unless what follows makes it a product ("… app", "… call",
 * "… is down").
 */
const AS_PRODUCT_AFTER = /^(app|apps|call|calls|meeting|meetings|chat|chats|client|desktop|web|account|login|sign-?in|audio|video|notifications?|messages?|calendar|mail|email|inbox|channels?|is|are|was|were|has|have|hasn'?t|hasnt|doesn'?t|doesnt|keeps?|kept|won'?t|wont|can'?t|cant|isn'?t|isnt|not|down|crash\w*|error\w*|outage|status|server|servers|service|again|today|right|just|still|randomly|anymore|broke|broken|died|dead|fails?|failed|failing|stopped|freez\w*|froze|lagging|glitch\w*)$/;
const ORDINARY_AFTER = /^(in|out|off|on|for|of|up|into|through|around|away|ahead|at|over|back|lens|level|levels|factor|played|play|playing|won|win|wins|lost|lose|beat|beats|scored|score|scores|advance[sd]?|qualif\w*|tied|tie|draw|drew|faced?|compete\w*|met|meet|meets|remains?|looks?|seems? (good|bad|bright|grim|positive|negative))$/;
const ORDINARY_BEFORE = /^(both|two|three|four|several|many|some|no|any|all|other|rival|opposing|our|my|your|their|his|her|its|a|an|bit|more|less|little|zero|cut|give|gave|economic|market|weather|financial|career|positive|negative|stable|sports?|football|soccer|basketball|hockey|baseball|college|national|dev|sales|support|marketing|engineering|product|design|remote|small|big|cross-functional|agile)$/;

function usedAsName(text: string, word: string): boolean {
  const tokens = text.toLowerCase().split(/[^\p{L}\p{N}'-]+/u).filter(Boolean);
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t !== word) continue;
    const after = tokens[i + 1] ?? '';
    const before = tokens[i - 1] ?? '';
    if (AS_PRODUCT_AFTER.test(after)) return true;
    if (ORDINARY_AFTER.test(after) || `${after} ${tokens[i + 2] ?? ''}`.match(ORDINARY_AFTER) || ORDINARY_BEFORE.test(before)) continue;
    return true;
  }
  return false;
}

const RECOVERED = /\b(back up|back online|working again|works again|is back|are back|fixed now|resolved now|seems fine now|all good now)\b/i;

const STATUS_INCIDENT = /\b(investigat\w+|identified|determined|mitigat\w+|resolv\w+|incident|outage|impact\w*|degrad\w+|disruption|root cause|users (may|might|are)|affected|restor\w+|monitoring|fix|fixed|workaround|rolled back|deploy\w+ the|expired|issues?|problems?|errors?|delays?|unable|intermittent|elevated)\b/i;
const CAUSE_WORDS = /\b(certificate|certificates|cert|expired|expiry|tls|ssl|dns|configuration|config change|deployment|network|database|authentication|capacity|ddos)\b/gi;
const INCIDENT_ID = /\b[A-Z]{2}\d{5,7}\b/g;

const PROBLEMS: [RegExp, NonNullable<Classification['problem']>][] = [
  [/\b(log ?in|login|sign ?in|signin|log on|password|auth\w*|aadsts\w*|mfa)\b/i, 'login'],
  [/\b(call|calls|audio|video|meeting|meetings|mic|camera)\b/i, 'calls'],
  [/\b(message|messages|chat|dm|dms|send|sending|email|emails|inbox|sync)\b/i, 'messaging'],
  [/\b(connect|connection|connecting|network|offline|reconnect\w*)\b/i, 'connection'],
  [/\b(website|site|page|web app|browser|load|loading)\b/i, 'website'],
];

export class PostClassifier {
  private readonly matchers: Matcher[];
  private readonly statusAccounts: Map<string, CatalogService[]>;

  constructor(catalog: Catalog) {
    this.matchers = matchers(catalog);
    this.statusAccounts = new Map();
    for (const s of catalog.services) {
      for (const a of s.statusAccounts ?? []) this.statusAccounts.set(a.toLowerCase(), [...(this.statusAccounts.get(a.toLowerCase()) ?? []), s]);
    }
  }

  /** The services a text names: strong matches first, then weak ones not used in another sense. */
  servicesIn(text: string): { service: string; strong: boolean }[] {
    const lower = text.toLowerCase();
    const out: { service: string; strong: boolean }[] = [];
    for (const m of this.matchers) {
      if (m.strong.some((r) => r.test(lower))) out.push({ service: m.service.id, strong: true });
      else if (m.weak.some((w) => usedAsName(text, w))) out.push({ service: m.service.id, strong: false });
    }
    return out.sort((a, b) => Number(b.strong) - Number(a.strong));
  }

  /**
   * @param hint a service suggested by the stream rule that matched (its tag), used when the text
   *             names none itself
   */
  classify(post: { text: string; author?: string }, hint?: string): Classification {
    const text = post.text;
    const causeWords = [...new Set((text.match(CAUSE_WORDS) ?? []).map((w) => w.toLowerCase()))];
    const incidentIds = [...new Set(text.match(INCIDENT_ID) ?? [])];
    const named = this.servicesIn(text);
    const accounts = post.author ? this.statusAccounts.get(post.author.replace(/^@/, '').toLowerCase()) : undefined;
    if (accounts) {
      // An official account: the service it names among its own, else its only one (or the hint).
      const own = named.find((n) => accounts.some((a) => a.id === n.service))?.service ?? (accounts.length === 1 ? accounts[0]!.id : hint && accounts.some((a) => a.id === hint) ? hint : undefined);
      const service = own ?? accounts[0]!.id;
      if (STATUS_INCIDENT.test(text)) return { kind: 'status', service, because: `status account @${post.author}`, causeWords, incidentIds };
      return { kind: 'other', service, because: `status account @${post.author}, not about an incident`, causeWords, incidentIds };
    }
    const target = named[0];
    if (!target) return { kind: 'other', ...(hint ? { service: hint } : {}), because: 'names no monitored service', causeWords, incidentIds };
    if (RECOVERED.test(text)) return { kind: 'other', service: target.service, because: 'says it works again', causeWords, incidentIds };
    const outage = OUTAGE.find((r) => r.test(text));
    if (!outage) return { kind: 'other', service: target.service, because: 'no outage language', causeWords, incidentIds };
    const problem = PROBLEMS.find(([r]) => r.test(text))?.[1] ?? 'other';
    return { kind: 'complaint', service: target.service, because: `names ${target.service}${target.strong ? '' : ' (short word)'} with outage language`, causeWords, incidentIds, problem };
  }
}
