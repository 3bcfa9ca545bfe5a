/**
 * Classifies a social post: which catalog service it is about, and whether it is a user saying
 * the service fails for them (a complaint), an official status statement, or neither.
 *
 * Deliberately plain and explainable, as the established report-counting sites do it: a post
 * counts only when it names a service (keyword, name, hashtag, mention or host) AND uses outage
 * language about it, and not when the service's word is used in another sense ("zoom in",
 * "slack off", "both teams played", "the outlook for 2025") or the post says it works again.
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
  /** Weak: the bare short word ("teams", "zoom"), which has other senses. */
  weak?: RegExp;
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const phrase = (s: string) => new RegExp(`(^|[^\\p{L}\\p{N}])${esc(s.toLowerCase())}($|[^\\p{L}\\p{N}])`, 'u');

/** The short word of a service: its id or the last word of its name ("Microsoft Teams" → teams). */
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
    return { service: s, strong, ...(words.length > 0 ? { weak: new RegExp(`\\b(${words.map(esc).join('|')})\\b`, 'i') } : {}) };
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

/** The service's word used in another sense. */
const OTHER_SENSE = [
  /\bzoom(ed|ing)?\s+(in|out)\b/i,
  /\bzoom (lens|level|factor)/i,
  /\bslack(ing|ed|er)?\s+(off|on)\b/i,
  /\b(some|no|any|cut (me|him|her|us|them)|a bit of)\s+slack\b/i,
  /\boutlook\s+(for|on|of|is (bright|positive|grim|good|bad)|remains)\b/i,
  /\b(economic|market|weather|financial|career|positive|negative|stable)\s+outlook\b/i,
  /\bteams\s+(won|lost|beat|played|score[sd]?|advance[sd]?|qualif\w+|tied|draw|faced|face|compete|competing|met|meet)\b/i,
  /\b(both|two|rival|sports?|football|soccer|basketball|hockey|baseball|nba|nfl|college|national|dev|sales|support|marketing|engineering|product|design|cross-functional|remote|small|our|my|other)\s+teams\b(?!\s+(app|call|meeting|chat|is|are|down|keeps|won't|not))/i,
  /\bsign-?in\s+sheet\b/i,
];

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
    const otherSense = OTHER_SENSE.some((r) => r.test(text));
    const out: { service: string; strong: boolean }[] = [];
    for (const m of this.matchers) {
      if (m.strong.some((r) => r.test(lower))) out.push({ service: m.service.id, strong: true });
      else if (m.weak?.test(lower) && !otherSense) out.push({ service: m.service.id, strong: false });
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
