// The status page: a single page over the query API (/api/v1/…), hash routes `#/` (overview) and
// `#/incidents/<id>` (one incident). Plain ES module, no framework, no build step.
//
// Every string the API returns is untrusted (report texts, service names, certificate subjects,
// hint summaries, evidence values): the DOM is built with createElement and text nodes only, and
// the only links the page makes are its own hash routes with encoded ids.

const API = 'api/v1/';
const SVG_NS = 'http://www.w3.org/2000/svg';
const REFRESH_MIN_MS = 1000;
const RETRY_MS = 5000;
const TRAILING_REFRESH_MS = 3000;

const main = /** @type {HTMLElement} */ (document.getElementById('main'));
const asOfEl = /** @type {HTMLElement} */ (document.getElementById('as-of'));
const liveEl = /** @type {HTMLElement} */ (document.getElementById('live'));
const liveText = /** @type {HTMLElement} */ (document.getElementById('live-text'));
const announceEl = /** @type {HTMLElement} */ (document.getElementById('announce'));

// ---------------------------------------------------------------------------------------------
// DOM helpers: text only, never markup.

/**
 * Creates an element. `attrs` values are set with setAttribute (never event handlers, never
 * markup); `children` are nodes or strings (strings become text nodes).
 * @param {string} tag
 * @param {Record<string, string | number | boolean | null | undefined>} [attrs]
 * @param {...(Node | string | number | null | undefined | false | Array<Node | string | null | undefined | false>)} children
 * @returns {HTMLElement}
 */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

/**
 * Creates an SVG element (createElementNS).
 * @param {string} tag
 * @param {Record<string, string | number | null | undefined>} [attrs]
 * @param {...(Node | string | null | undefined | false)} children
 * @returns {SVGElement}
 */
function s(tag, attrs, ...children) {
  const el = /** @type {SVGElement} */ (document.createElementNS(SVG_NS, tag));
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

/** @param {Element} el @param {Record<string, unknown> | undefined} attrs */
function setAttrs(el, attrs) {
  if (!attrs) return;
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (/^on/i.test(k) || k === 'style') throw new Error(`refusing attribute ${k}`);
    if (k === 'href' && !String(v).startsWith('#/') && String(v) !== '#main') throw new Error('only hash routes are linked');
    el.setAttribute(k, v === true ? '' : String(v));
  }
}

/** @param {Node} el @param {unknown[]} children */
function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** The hash route of an incident; the id is encoded. @param {string} id */
const incidentHref = (id) => `#/incidents/${encodeURIComponent(id)}`;

// ---------------------------------------------------------------------------------------------
// Formatting. Times are shown in UTC; "now" is the data's own time (the API's asOf), never the
// browser's clock, because the data may be a replay of another day.

const pad = (/** @type {number} */ n) => String(n).padStart(2, '0');

/** "2020-02-03 13:40 UTC" @param {string | null | undefined} iso */
function utc(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} UTC`;
}

/** "13:40" @param {number} ms */
function hhmm(ms) {
  const d = new Date(ms);
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
}

/** "Feb 3" @param {number} ms */
function monthDay(ms) {
  const d = new Date(ms);
  return `${['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()]} ${d.getUTCDate()}`;
}

/** A <time> element with the UTC text and the ISO value. @param {string | null | undefined} iso */
function time(iso) {
  return iso ? h('time', { datetime: iso }, utc(iso)) : h('span', { class: 'muted' }, '—');
}

/** "4 h 17 min", "9 min", "2 days 3 h" @param {number} ms */
function duration(ms) {
  const min = Math.round(Math.abs(ms) / 60_000);
  if (min < 1) return 'under a minute';
  if (min < 60) return `${min} min`;
  const hours = Math.floor(min / 60);
  if (hours < 48) return min % 60 ? `${hours} h ${min % 60} min` : `${hours} h`;
  const days = Math.floor(hours / 24);
  return hours % 24 ? `${days} days ${hours % 24} h` : `${days} days`;
}

/** "expired 10 hours ago", "expires in 8 days" from a signed number of days. @param {number} days */
function daysLeftText(days) {
  const abs = Math.abs(days);
  let span;
  if (abs < 1 / 24) span = `${Math.max(1, Math.round(abs * 24 * 60))} min`;
  else if (abs < 2) span = `${Math.round(abs * 24)} hours`;
  else span = `${Math.round(abs)} days`;
  return days < 0 ? `expired ${span} ago` : `expires in ${span}`;
}

/** @param {number} n */
function rate(n) {
  if (!Number.isFinite(n)) return '—';
  if (n >= 100) return String(Math.round(n));
  if (n >= 10) return n.toFixed(1).replace(/\.0$/, '');
  return n.toFixed(2).replace(/\.?0+$/, '') || '0';
}

/** @param {number} c */
const pct = (c) => `${Math.round(c * 100)}%`;

const HINT_KINDS = /** @type {Record<string, string>} */ ({
  cert_expired: 'Expired certificate',
  chain_expired: 'Expired certificate chain',
  cert_not_yet_valid: 'Certificate not yet valid',
  renewal_not_deployed: 'Renewal not deployed',
  cert_expiring: 'Certificate expiring',
  tls_probe_failure: 'TLS probe failure',
  probe_failure: 'Probe failure',
  dependency_incident: 'Dependency incident',
  vendor_statement: 'Vendor statement',
});

const STATES = /** @type {Record<string, {label: string, icon: string}>} */ ({
  ok: { label: 'No problems', icon: '✓' },
  possible_problem: { label: 'Possible problems', icon: '!' },
  problem: { label: 'Problems', icon: '✕' },
});

/** @param {string} state */
function stateBadge(state) {
  const st = STATES[state] ?? { label: state, icon: '?' };
  return h('span', { class: 'state', 'data-state': state }, h('span', { class: 'state-icon', 'aria-hidden': 'true' }, st.icon), st.label);
}

/** @param {string} status */
function statusPill(status) {
  return h('span', { class: 'pill', 'data-status': status }, status === 'open' ? 'open' : status);
}

/** @param {number} confidence */
function confidenceBadge(confidence) {
  const likely = confidence >= 0.5;
  return h(
    'span',
    { class: 'confidence', 'data-likely': likely ? 'true' : 'false' },
    h('meter', { min: 0, max: 1, low: 0.2, high: 0.5, optimum: 1, value: confidence, 'aria-hidden': 'true' }),
    h('span', { class: 'confidence-value' }, pct(confidence)),
    ' ',
    h('span', { class: 'confidence-label' }, likely ? 'likely cause' : 'context'),
  );
}

/** @param {string} kind */
function hintKind(kind) {
  return h('span', { class: 'hint-kind', title: kind }, HINT_KINDS[kind] ?? kind, ' ', h('code', null, kind));
}

// ---------------------------------------------------------------------------------------------
// The API.

class ApiError extends Error {
  /** @param {string} message @param {number} status @param {boolean} unreachable */
  constructor(message, status, unreachable) {
    super(message);
    this.status = status;
    this.unreachable = unreachable;
  }
}

/**
 * GET a JSON document of the API.
 * @param {string} path relative to /api/v1/
 * @returns {Promise<any>}
 */
async function api(path) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), 15_000);
  let res;
  try {
    res = await fetch(API + path, { headers: { accept: 'application/json' }, signal: ctl.signal, cache: 'no-store' });
  } catch (err) {
    throw new ApiError(`the status API is unreachable (${err instanceof Error && err.name === 'AbortError' ? 'no answer within 15 s' : 'network error'})`, 0, true);
  } finally {
    clearTimeout(timer);
  }
  let body = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  if (!res.ok) {
    const detail = body && typeof body === 'object' ? [body.title, body.detail].filter((x) => typeof x === 'string').join(': ') : '';
    throw new ApiError(detail || `HTTP ${res.status}`, res.status, res.status >= 502 && res.status <= 504);
  }
  if (body === null) throw new ApiError('the API answered with something that is not JSON', res.status, false);
  return body;
}

/** @param {unknown} err */
function errorBox(err, what = 'data') {
  const e = err instanceof ApiError ? err : new ApiError(err instanceof Error ? err.message : String(err), 0, false);
  return h(
    'div',
    { class: 'error', role: 'alert' },
    h('strong', null, e.unreachable ? 'The status API is unreachable.' : `Could not load ${what}.`),
    ' ',
    e.message.replace(/[^.!?]$/, '$&.'),
    e.unreachable ? ` Retrying every ${RETRY_MS / 1000} s.` : '',
  );
}

// ---------------------------------------------------------------------------------------------
// State shared between views.

/** The latest state of incidents from the event stream, until the lists show it. @type {Map<string, any>} */
const liveIncidents = new Map();
/** @type {Map<string, string>} service id → display name */
const serviceNames = new Map();
/** Open <details> of the evidence, by key, kept across refreshes. @type {Map<string, boolean>} */
const detailsOpen = new Map();
let renderSeq = 0;
/** @type {ReturnType<typeof setTimeout> | undefined} */
let retryTimer;

/** @param {string} id */
const serviceName = (id) => serviceNames.get(id) ?? id;

/** @param {string | null | undefined} iso */
function setAsOf(iso) {
  asOfEl.replaceChildren();
  if (iso) append(asOfEl, ['as of ', time(iso)]);
}

// ---------------------------------------------------------------------------------------------
// Overview.

async function renderOverview(seq) {
  const [services, open, recent, certs, warnings] = await Promise.allSettled([
    api('services'),
    api('incidents?status=open&limit=50'),
    api('incidents?limit=20'),
    api('certificates?limit=20'),
    api('warnings'),
  ]);
  if (seq !== renderSeq) return;
  const results = [services, open, recent, certs, warnings];
  const unreachable = results.every((r) => r.status === 'rejected');

  if (services.status === 'fulfilled') {
    for (const sv of services.value.items) serviceNames.set(sv.id, sv.name);
    setAsOf(services.value.asOf);
  }

  const view = h('div', { class: 'view overview', 'data-view': 'overview' });
  if (unreachable) {
    // Nothing answered: say so once instead of in every section.
    view.append(errorBox(/** @type {PromiseRejectedResult} */ (services).reason, 'the services'));
    document.title = 'Service status (unreachable)';
    main.replaceChildren(view);
    scheduleRetry();
    return;
  }
  if (results.some((r) => r.status === 'rejected' && r.reason instanceof ApiError && r.reason.unreachable)) {
    scheduleRetry();
  }

  if (services.status === 'fulfilled') view.append(summaryBanner(services.value.items));
  view.append(
    section('services', 'Services', services, (v) => servicesGrid(v.items)),
    section('incidents', 'Incidents', open.status === 'rejected' ? open : recent, () =>
      incidentsSection(open.status === 'fulfilled' ? open.value : { items: [], nextCursor: null }, recent.status === 'fulfilled' ? recent.value : { items: [], nextCursor: null }),
    ),
    section('certificates', 'Certificates that expire soonest', certs, (v) => certificatesTable(v.items, 'No certificates in the inventory.')),
    section('warnings', 'Early warnings', warnings, (v) => warningsList(v.items)),
  );
  document.title = summaryTitle(services.status === 'fulfilled' ? services.value.items : null);
  main.replaceChildren(view);
}

/**
 * A section with a heading, its content or its error.
 * @template T
 * @param {string} id @param {string} title @param {PromiseSettledResult<T>} result
 * @param {(v: T) => Node} render
 */
function section(id, title, result, render) {
  const body = result.status === 'fulfilled' ? render(result.value) : errorBox(result.reason, title.toLowerCase());
  return h('section', { class: `panel panel-${id}`, id: `section-${id}`, 'aria-labelledby': `h-${id}` }, h('h2', { id: `h-${id}` }, title), body);
}

/** @param {any[] | null} items */
function summaryTitle(items) {
  if (!items) return 'Service status';
  const bad = items.filter((x) => x.state === 'problem').length;
  return bad ? `(${bad}) Service status` : 'Service status';
}

/** @param {any[]} items */
function summaryBanner(items) {
  const problems = items.filter((x) => x.state === 'problem');
  const possible = items.filter((x) => x.state === 'possible_problem');
  const state = problems.length ? 'problem' : possible.length ? 'possible_problem' : 'ok';
  let text;
  if (!items.length) text = 'No services in the catalog.';
  else if (state === 'ok') text = `All ${items.length} services: no current problems.`;
  else {
    const parts = [];
    if (problems.length) parts.push(`Problems at ${problems.map((x) => x.name).join(', ')}`);
    if (possible.length) parts.push(`possible problems at ${possible.map((x) => x.name).join(', ')}`);
    text = `${parts.join('; ')}.`;
    text = text.charAt(0).toUpperCase() + text.slice(1);
  }
  return h('div', { class: 'banner', 'data-state': state }, h('span', { class: 'state-icon', 'aria-hidden': 'true' }, STATES[state]?.icon ?? ''), h('p', null, text));
}

/** @param {any[]} items */
function servicesGrid(items) {
  if (!items.length) return h('p', { class: 'empty' }, 'No services in the catalog.');
  const order = { problem: 0, possible_problem: 1, ok: 2 };
  const sorted = [...items].sort((a, b) => (order[a.state] ?? 3) - (order[b.state] ?? 3) || String(a.name).localeCompare(String(b.name)));
  return h(
    'ul',
    { class: 'services-grid' },
    sorted.map((sv) =>
      h(
        'li',
        { class: 'service card', 'data-service': sv.id, 'data-state': sv.state },
        h('div', { class: 'service-head' }, h('h3', { class: 'service-name' }, sv.name), stateBadge(sv.state)),
        sv.name !== sv.id ? h('p', { class: 'service-id muted' }, sv.id) : null,
        h('p', { class: 'service-reason' }, sv.reason),
        h(
          'p',
          { class: 'service-stats' },
          h('span', { class: 'reports-last-hour' }, `${sv.reportsLastHour} report${sv.reportsLastHour === 1 ? '' : 's'} in the last hour`),
          sv.dependsOn?.length ? [' · depends on ', sv.dependsOn.map(serviceName).join(', ')] : null,
        ),
        sv.worstCertificate
          ? h(
              'p',
              { class: 'service-cert cert-level', 'data-level': sv.worstCertificate.level },
              h('span', { class: 'muted' }, 'Certificate '),
              h('span', { class: 'cert-ref' }, sv.worstCertificate.name),
              ` ${daysLeftText(sv.worstCertificate.daysLeft)}`,
            )
          : null,
        sv.openIncident
          ? h('p', { class: 'service-incident' }, h('a', { href: incidentHref(sv.openIncident.id) }, 'Open incident since ', utc(sv.openIncident.startedAt)))
          : null,
      ),
    ),
  );
}

/**
 * Open and recent incidents. The two lists are read one after the other and an event may have
 * arrived in between (or before the store has the change): every incident is shown once, in its
 * newest known revision, from the lists and from the event stream.
 * @param {{items: any[], nextCursor: string|null}} open @param {{items: any[], nextCursor: string|null}} recent
 */
function incidentsSection(open, recent) {
  /** @type {Map<string, any>} */
  const newest = new Map();
  const put = (/** @type {any} */ inc) => {
    const prev = newest.get(inc.id);
    if (!prev || inc.revision > prev.revision) newest.set(inc.id, inc);
  };
  open.items.forEach(put);
  recent.items.forEach(put);
  // Events the lists have caught up with are no longer needed.
  for (const [id, inc] of liveIncidents) if ((newest.get(id)?.revision ?? -1) >= inc.revision) liveIncidents.delete(id);
  liveIncidents.forEach(put);
  const byStart = (/** @type {any} */ a, /** @type {any} */ b) => Date.parse(b.startedAt) - Date.parse(a.startedAt);
  const openItems = [...newest.values()].filter((i) => i.status === 'open').sort(byStart);
  const openIds = new Set(openItems.map((i) => i.id));
  const others = [...newest.values()].filter((i) => !openIds.has(i.id)).sort(byStart);
  const wrap = h('div', null);
  wrap.append(
    h('h3', { class: 'sub' }, `Open (${openItems.length}${open.nextCursor ? '+' : ''})`),
    openItems.length ? incidentList(openItems, 'open-incidents') : h('p', { class: 'empty' }, 'No open incidents.'),
    h('h3', { class: 'sub' }, 'Recent'),
  );
  if (!others.length) {
    wrap.append(h('p', { class: 'empty' }, newest.size ? 'No other incidents.' : 'No incidents.'));
    return wrap;
  }
  const list = incidentList(others, 'recent-incidents');
  wrap.append(list);
  if (recent.nextCursor) wrap.append(moreButton(list, recent.nextCursor, new Set(newest.keys())));
  return wrap;
}

/** "Load more" for the incident list. @param {HTMLElement} list @param {string} cursor @param {Set<string>} skip */
function moreButton(list, cursor, skip) {
  const btn = h('button', { type: 'button', class: 'more' }, 'Show older incidents');
  btn.addEventListener('click', async () => {
    btn.setAttribute('disabled', '');
    btn.textContent = 'Loading…';
    try {
      const page = await api(`incidents?limit=20&cursor=${encodeURIComponent(cursor)}`);
      for (const inc of page.items) if (!skip.has(inc.id)) list.append(incidentItem(inc));
      if (page.nextCursor) btn.replaceWith(moreButton(list, page.nextCursor, skip));
      else btn.remove();
    } catch (err) {
      btn.replaceWith(errorBox(err, 'older incidents'));
    }
  });
  return btn;
}

/** @param {any[]} items @param {string} kind */
function incidentList(items, kind) {
  return h('ol', { class: `incidents ${kind}` }, items.map(incidentItem));
}

/** One incident in a list, with its first hint. @param {any} inc */
function incidentItem(inc) {
  const end = inc.resolvedAt ? Date.parse(inc.resolvedAt) : null;
  return h(
    'li',
    { class: 'incident card', 'data-incident': inc.id, 'data-service': inc.service, 'data-status': inc.status },
    h(
      'div',
      { class: 'incident-head' },
      h('a', { class: 'incident-link', href: incidentHref(inc.id) }, serviceName(inc.service)),
      statusPill(inc.status),
      h('span', { class: 'incident-id muted' }, inc.id),
    ),
    h(
      'p',
      { class: 'incident-times' },
      'started ',
      time(inc.startedAt),
      end !== null ? [' · resolved ', time(inc.resolvedAt), ` (${duration(end - Date.parse(inc.startedAt))})`] : ' · ongoing',
      ` · peak ${rate(inc.peakPerMin)}/min vs baseline ${rate(inc.baselinePerMin)}/min`,
    ),
    inc.topHint
      ? h(
          'div',
          { class: 'top-hint', 'data-kind': inc.topHint.kind },
          h('p', { class: 'hint-meta' }, hintKind(inc.topHint.kind), ' ', confidenceBadge(inc.topHint.confidence)),
          h('p', { class: 'hint-summary' }, inc.topHint.summary),
        )
      : h('p', { class: 'muted top-hint-none' }, 'No hint yet.'),
  );
}

/** @param {any[]} items @param {string} empty */
function certificatesTable(items, empty) {
  if (!items.length) return h('p', { class: 'empty' }, empty);
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'certs' },
      h('thead', null, h('tr', null, ['Certificate', 'Expires', 'Serves', 'Would take down', 'Renewal'].map((t) => h('th', { scope: 'col' }, t)))),
      h(
        'tbody',
        null,
        items.map((c) =>
          h(
            'tr',
            { 'data-sha256': c.sha256, 'data-expired': c.daysLeft < 0 ? 'true' : 'false' },
            h(
              'td',
              null,
              h('span', { class: 'cert-name' }, c.name),
              h('span', { class: 'cert-subject muted' }, c.subject),
              h('code', { class: 'sha muted', title: c.sha256 }, `sha256 ${c.sha256.slice(0, 12)}…`),
            ),
            h('td', { class: 'cert-expiry' }, h('span', { class: 'days', 'data-expired': c.daysLeft < 0 ? 'true' : 'false' }, daysLeftText(c.daysLeft)), h('br'), time(c.notAfter)),
            h('td', null, chips(c.services, 'none')),
            h('td', { class: 'blast' }, chips(c.blastRadius, 'nothing')),
            h('td', null, renewalText(c.renewal)),
          ),
        ),
      ),
    ),
  );
}

/** @param {{sha256: string, deployed: boolean, notAfter?: string} | null} r */
function renewalText(r) {
  if (!r) return h('span', { class: 'muted' }, 'none known');
  return h(
    'span',
    { class: 'renewal', 'data-deployed': r.deployed ? 'true' : 'false' },
    h('span', { class: 'renewal-state' }, r.deployed ? 'deployed' : 'not deployed'),
    ' ',
    h('code', { class: 'muted', title: r.sha256 }, `${r.sha256.slice(0, 12)}…`),
    r.notAfter ? [h('br'), 'valid to ', time(r.notAfter)] : null,
  );
}

/** @param {string[]} ids @param {string} empty */
function chips(ids, empty) {
  if (!ids?.length) return h('span', { class: 'muted' }, empty);
  return h('ul', { class: 'chips' }, ids.map((id) => h('li', { class: 'chip', title: id }, serviceName(id))));
}

/** @param {any[]} items */
function warningsList(items) {
  if (!items.length) return h('p', { class: 'empty' }, 'No early warnings.');
  return h(
    'ul',
    { class: 'warnings' },
    items.map((w) =>
      h(
        'li',
        { class: 'warning card', 'data-level': w.level, 'data-sha256': w.sha256 },
        h('div', { class: 'warning-head' }, h('span', { class: 'level', 'data-level': w.level }, w.level), h('span', { class: 'cert-name' }, w.name), h('span', { class: 'muted' }, daysLeftText(w.daysLeft))),
        h('p', null, w.reason),
        h(
          'dl',
          { class: 'facts compact' },
          h('dt', null, 'Subject'),
          h('dd', null, w.subject),
          h('dt', null, 'Expires'),
          h('dd', null, time(w.notAfter)),
          h('dt', null, 'Serves'),
          h('dd', null, chips(w.services, 'no service')),
          h('dt', null, 'Would take down'),
          h('dd', null, chips(w.blastRadius, 'nothing')),
          w.endpoints?.length ? [h('dt', null, 'Seen at'), h('dd', null, w.endpoints.join(', '))] : null,
          h('dt', null, 'Renewal'),
          h('dd', null, renewalText(w.renewal)),
          h('dt', null, 'Computed'),
          h('dd', null, time(w.computedAt)),
        ),
      ),
    ),
  );
}

// ---------------------------------------------------------------------------------------------
// One incident.

/** @param {string} id @param {number} seq */
async function renderIncident(id, seq) {
  let inc;
  try {
    // The services for their names and the data's "as of" time; the incident view works without.
    const [sv, detail] = await Promise.all([api('services').catch(() => null), api(`incidents/${encodeURIComponent(id)}`)]);
    if (sv && seq === renderSeq) {
      for (const x of sv.items) serviceNames.set(x.id, x.name);
      setAsOf(sv.asOf);
    }
    inc = detail;
  } catch (err) {
    if (seq !== renderSeq) return;
    const notFound = err instanceof ApiError && err.status === 404;
    main.replaceChildren(
      h(
        'div',
        { class: 'view incident-view', 'data-view': 'incident' },
        backLink(),
        notFound ? h('p', { class: 'error', role: 'alert' }, 'No incident with the id ', h('code', null, id), '.') : errorBox(err, 'the incident'),
      ),
    );
    if (err instanceof ApiError && err.unreachable) scheduleRetry();
    return;
  }
  if (seq !== renderSeq) return;
  document.title = `${serviceName(inc.service)} incident (${inc.status}) · Service status`;
  const started = Date.parse(inc.startedAt);
  const detected = Date.parse(inc.detectedAt);
  const resolved = inc.resolvedAt ? Date.parse(inc.resolvedAt) : null;
  const ratio = inc.baselinePerMin > 0 ? inc.peakPerMin / inc.baselinePerMin : null;

  const view = h(
    'article',
    { class: 'view incident-view', 'data-view': 'incident', 'data-incident': inc.id },
    backLink(),
    h(
      'header',
      { class: 'incident-header' },
      h('h1', null, serviceName(inc.service), ' ', statusPill(inc.status)),
      h('p', { class: 'incident-id muted' }, inc.id, ` · revision ${inc.revision}`),
      h(
        'dl',
        { class: 'facts header-facts' },
        h('dt', null, 'Started'),
        h('dd', null, time(inc.startedAt)),
        h('dt', null, 'Detected'),
        h('dd', null, time(inc.detectedAt), detected > started ? h('span', { class: 'muted' }, ` (${duration(detected - started)} after the start)`) : null),
        h('dt', null, 'Resolved'),
        h('dd', null, resolved !== null ? [time(inc.resolvedAt), h('span', { class: 'muted' }, ` (after ${duration(resolved - started)})`)] : h('span', { class: 'ongoing' }, 'not yet')),
        h('dt', null, 'Peak'),
        h('dd', null, `${rate(inc.peakPerMin)} reports/min vs baseline ${rate(inc.baselinePerMin)}/min`, ratio !== null ? h('span', { class: 'muted' }, ` (×${rate(ratio)})`) : null),
      ),
    ),
    h('section', { class: 'panel chart-panel', 'aria-labelledby': 'h-chart' }, h('h2', { id: 'h-chart' }, 'Reports against the baseline'), seriesChart(inc)),
    h(
      'section',
      { class: 'panel hints-panel', 'aria-labelledby': 'h-hints' },
      h('h2', { id: 'h-hints' }, 'Root-cause hints'),
      inc.hints.length ? h('ol', { class: 'hints' }, inc.hints.map((hint, i) => hintItem(inc.id, hint, i))) : h('p', { class: 'empty' }, 'No hints: nothing in the certificates, probes or status posts points at a cause yet.'),
    ),
    h('section', { class: 'panel', 'aria-labelledby': 'h-timeline' }, h('h2', { id: 'h-timeline' }, 'Timeline'), revisionsList(inc.revisions)),
    h('section', { class: 'panel', 'aria-labelledby': 'h-probes' }, h('h2', { id: 'h-probes' }, 'Probes'), probesTable(inc.probes)),
    h('section', { class: 'panel', 'aria-labelledby': 'h-certs' }, h('h2', { id: 'h-certs' }, 'Certificates involved'), certificatesTable(inc.certificates, 'No certificates involved.')),
  );
  main.replaceChildren(view);
}

function backLink() {
  return h('p', { class: 'back' }, h('a', { href: '#/' }, '← All services'));
}

/** @param {string} incidentId @param {any} hint @param {number} i */
function hintItem(incidentId, hint, i) {
  const key = `${incidentId}\u0000${i}\u0000${hint.kind}`;
  const details = h('details', { class: 'evidence', open: detailsOpen.has(key) ? detailsOpen.get(key) : i === 0 }, h('summary', null, 'Evidence'), evidenceList(hint.evidence));
  details.addEventListener('toggle', () => detailsOpen.set(key, /** @type {HTMLDetailsElement} */ (details).open));
  return h(
    'li',
    { class: 'hint card', 'data-kind': hint.kind, 'data-likely': hint.confidence >= 0.5 ? 'true' : 'false' },
    h('p', { class: 'hint-meta' }, h('span', { class: 'rank' }, `${i + 1}.`), ' ', hintKind(hint.kind), ' ', confidenceBadge(hint.confidence)),
    h('p', { class: 'hint-summary' }, hint.summary),
    hint.certSha256 || hint.relatedService
      ? h(
          'p',
          { class: 'hint-refs muted' },
          hint.certSha256 ? ['certificate ', h('code', { title: hint.certSha256 }, `sha256 ${hint.certSha256.slice(0, 16)}…`)] : null,
          hint.certSha256 && hint.relatedService ? ' · ' : null,
          hint.relatedService ? ['related service ', serviceName(hint.relatedService)] : null,
        )
      : null,
    details,
  );
}

/** The evidence as a definition list: keys and values, nested values as JSON text. @param {Record<string, unknown>} ev */
function evidenceList(ev) {
  const entries = ev && typeof ev === 'object' ? Object.entries(ev) : [];
  if (!entries.length) return h('p', { class: 'empty' }, 'No structured evidence.');
  return h(
    'dl',
    { class: 'evidence-list' },
    entries.map(([k, v]) => [h('dt', null, k), h('dd', null, evidenceValue(v))]),
  );
}

/** @param {unknown} v */
function evidenceValue(v) {
  if (v === null || v === undefined) return h('span', { class: 'muted' }, 'null');
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return h('code', null, String(v));
  if (Array.isArray(v) && v.length === 0) return h('span', { class: 'muted' }, 'none');
  if (Array.isArray(v) && v.every((x) => typeof x === 'string' || typeof x === 'number')) return v.join(', ');
  // Lists of records one per line (compact), other structures indented.
  const text = Array.isArray(v) ? `[\n${v.map((x) => `  ${JSON.stringify(x)}`).join(',\n')}\n]` : JSON.stringify(v, null, 2);
  return h('pre', { class: 'json' }, text);
}

/**
 * The revisions, oldest first. A run of updates that say the same thing (a long outage updates
 * its incident every few minutes) is one row with its range and count.
 * @param {any[]} revisions
 */
function revisionsList(revisions) {
  if (!revisions?.length) return h('p', { class: 'empty' }, 'No revisions recorded.');
  /** @type {any[][]} */
  const runs = [];
  for (const r of revisions) {
    const last = runs[runs.length - 1];
    const prev = last?.[last.length - 1];
    if (prev && r.event === 'updated' && prev.event === 'updated' && r.title === prev.title && r.summary === prev.summary) last.push(r);
    else runs.push([r]);
  }
  return h(
    'ol',
    { class: 'timeline' },
    runs.map((run) => {
      const r = run[0];
      const end = run[run.length - 1];
      const many = run.length > 1;
      return h(
        'li',
        { 'data-event': r.event, 'data-revisions': run.length },
        h('span', { class: 'tl-time' }, time(r.at), many ? [h('br'), h('span', { class: 'muted' }, 'to '), time(end.at)] : null),
        h('span', { class: 'tl-event', 'data-event': r.event }, many ? `${r.event} ×${run.length}` : r.event),
        h('span', { class: 'tl-rev muted' }, many ? `#${r.revision}–${end.revision}` : `#${r.revision}`),
        h('div', { class: 'tl-body' }, h('p', { class: 'tl-title' }, r.title), r.summary && r.summary !== r.title ? h('p', { class: 'tl-summary muted' }, r.summary) : null),
      );
    }),
  );
}

/** @param {any[]} probes */
function probesTable(probes) {
  if (!probes?.length) return h('p', { class: 'empty' }, 'No probes involved.');
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'probes' },
      h('thead', null, h('tr', null, ['Target', 'Region', 'Last check', 'Failures', 'Error codes', 'p50'].map((t) => h('th', { scope: 'col' }, t)))),
      h(
        'tbody',
        null,
        probes.map((p) =>
          h(
            'tr',
            { 'data-ok': p.lastOk ? 'true' : 'false' },
            h('td', null, h('span', { class: 'target' }, p.target), p.service ? h('span', { class: 'muted' }, ` (${serviceName(p.service)})`) : null),
            h('td', null, p.region),
            h('td', null, h('span', { class: 'probe-ok', 'data-ok': p.lastOk ? 'true' : 'false' }, p.lastOk ? 'ok' : p.lastErrorCode ?? 'failed'), h('br'), time(p.lastAt)),
            h('td', null, `${p.failures} of ${p.checks}`),
            h('td', null, p.errorCodes?.length ? p.errorCodes.map((e) => `${e.code} ×${e.count}`).join(', ') : h('span', { class: 'muted' }, 'none')),
            h('td', null, p.p50Ms === null || p.p50Ms === undefined ? '—' : `${Math.round(p.p50Ms)} ms`),
          ),
        ),
      ),
    ),
  );
}

// ---------------------------------------------------------------------------------------------
// The chart: reports per bucket against the seasonal baseline, SVG built with createElementNS.

/** Round numbers for an axis from 0 to max. @param {number} max */
function niceTicks(max) {
  if (!(max > 0)) return [0, 1];
  const rough = max / 4;
  const mag = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((st) => st >= rough) ?? 10 * mag;
  const ticks = [];
  for (let v = 0; v <= max + step * 0.999; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/** Time ticks on round UTC minutes/hours. @param {number} from @param {number} to @param {number} most */
function timeTicks(from, to, most) {
  const span = to - from;
  const steps = [5, 10, 15, 30, 60, 120, 180, 360, 720, 1440].map((m) => m * 60_000);
  const step = steps.find((st) => span / st <= most) ?? 1440 * 60_000;
  const ticks = [];
  for (let t = Math.ceil(from / step) * step; t <= to; t += step) ticks.push(t);
  return ticks;
}

/** @param {any} inc */
function seriesChart(inc) {
  const series = inc.series;
  const points = (series?.points ?? [])
    .map((p) => ({ t: Date.parse(p.ts), reports: Number(p.reports), baseline: p.baseline === null || p.baseline === undefined ? null : Number(p.baseline) }))
    .filter((p) => Number.isFinite(p.t) && Number.isFinite(p.reports))
    .sort((a, b) => a.t - b.t);
  if (points.length === 0) return h('p', { class: 'empty' }, 'No report series for this incident.');

  // Drawn for the width it gets (text stays legible on a phone); wider screens scale it up.
  const W = Math.round(Math.min(900, Math.max(360, document.documentElement.clientWidth - 56)));
  const H = W < 640 ? 260 : 320;
  const m = { top: 44, right: 20, bottom: 44, left: 56 };
  const iw = W - m.left - m.right;
  const ih = H - m.top - m.bottom;
  const t0 = Math.min(Date.parse(series.from) || Infinity, points[0].t);
  const t1 = Math.max(Date.parse(series.to) || -Infinity, points[points.length - 1].t, t0 + 60_000);
  const maxY = Math.max(1, ...points.map((p) => Math.max(p.reports, p.baseline ?? 0)));
  const yTicks = niceTicks(maxY);
  const yMax = yTicks[yTicks.length - 1];
  const x = (/** @type {number} */ t) => m.left + ((t - t0) / (t1 - t0)) * iw;
  const y = (/** @type {number} */ v) => m.top + ih - (v / yMax) * ih;
  const f = (/** @type {number} */ n) => n.toFixed(1);
  const stepLabel = series.stepSeconds === 60 ? 'minute' : `${Math.round(series.stepSeconds / 60)} minutes`;

  const label = `Reports per ${stepLabel} for ${serviceName(inc.service)} from ${utc(new Date(t0).toISOString())} to ${utc(new Date(t1).toISOString())}: peak ${rate(Math.max(...points.map((p) => p.reports)))}, against a baseline of about ${rate(inc.baselinePerMin)} per minute.`;
  const svg = s('svg', { class: 'series', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': label, preserveAspectRatio: 'xMidYMid meet', 'data-points': points.length });
  svg.append(s('title', null, label));

  // Incident span.
  const spanEnd = inc.resolvedAt ? Date.parse(inc.resolvedAt) : t1;
  const sx = x(Math.max(t0, Date.parse(inc.startedAt)));
  const ex = x(Math.min(t1, spanEnd));
  if (ex > sx) svg.append(s('rect', { class: 'incident-span', x: f(sx), y: m.top, width: f(ex - sx), height: ih }));

  // Grid and y axis.
  const grid = s('g', { class: 'grid' });
  for (const v of yTicks) {
    grid.append(s('line', { x1: m.left, x2: m.left + iw, y1: f(y(v)), y2: f(y(v)) }));
    grid.append(s('text', { class: 'tick y', x: m.left - 8, y: f(y(v) + 4), 'text-anchor': 'end' }, String(v)));
  }
  svg.append(grid);
  svg.append(s('text', { class: 'axis-label', x: 14, y: f(m.top + ih / 2), transform: `rotate(-90 14 ${f(m.top + ih / 2)})`, 'text-anchor': 'middle' }, `reports / ${stepLabel}`));

  // X axis in UTC.
  const xa = s('g', { class: 'x-axis' });
  xa.append(s('line', { class: 'axis', x1: m.left, x2: m.left + iw, y1: m.top + ih, y2: m.top + ih }));
  const multiDay = new Date(t0).getUTCDate() !== new Date(t1).getUTCDate() || t1 - t0 > 86_400_000;
  for (const t of timeTicks(t0, t1, Math.max(3, Math.floor(iw / 90)))) {
    xa.append(s('line', { class: 'tick-mark', x1: f(x(t)), x2: f(x(t)), y1: m.top + ih, y2: m.top + ih + 5 }));
    const midnight = new Date(t).getUTCHours() === 0 && new Date(t).getUTCMinutes() === 0;
    xa.append(s('text', { class: 'tick x', x: f(x(t)), y: m.top + ih + 18, 'text-anchor': 'middle' }, multiDay && midnight ? monthDay(t) : hhmm(t)));
  }
  xa.append(s('text', { class: 'axis-label', x: m.left + iw, y: H - 6, 'text-anchor': 'end' }, `${monthDay(t0)}${multiDay ? `–${monthDay(t1)}` : ''} ${new Date(t0).getUTCFullYear()}, UTC`));
  svg.append(xa);

  // Baseline: one polyline per run of points that have one.
  const base = s('g', { class: 'baseline-group' });
  let run = [];
  const flush = () => {
    if (run.length) base.append(s('polyline', { class: 'baseline', points: run.join(' ') }));
    run = [];
  };
  for (const p of points) {
    if (p.baseline === null) flush();
    else run.push(`${f(x(p.t))},${f(y(p.baseline))}`);
  }
  flush();
  svg.append(base);

  // Reports.
  svg.append(s('polyline', { class: 'reports', points: points.map((p) => `${f(x(p.t))},${f(y(p.reports))}`).join(' ') }));
  const dots = s('g', { class: 'points' });
  for (const p of points) {
    dots.append(
      s(
        'circle',
        { class: 'point', cx: f(x(p.t)), cy: f(y(p.reports)), r: points.length > 240 ? 1.4 : 2.5 },
        s('title', null, `${hhmm(p.t)} UTC: ${rate(p.reports)} reports${p.baseline === null ? '' : `, baseline ${rate(p.baseline)}`}`),
      ),
    );
  }
  svg.append(dots);

  // Markers at the start, the detection and the resolution.
  const marks = [
    ['started', Date.parse(inc.startedAt)],
    ['detected', Date.parse(inc.detectedAt)],
    ['resolved', inc.resolvedAt ? Date.parse(inc.resolvedAt) : NaN],
  ];
  const mg = s('g', { class: 'markers' });
  let lastLabelX = -Infinity;
  let row = 0;
  for (const [name, t] of /** @type {Array<[string, number]>} */ (marks)) {
    if (!Number.isFinite(t) || t < t0 || t > t1) continue;
    const mx = x(t);
    row = mx - lastLabelX < 110 ? row + 1 : 0;
    lastLabelX = mx;
    mg.append(s('line', { class: `marker ${name}`, x1: f(mx), x2: f(mx), y1: m.top, y2: m.top + ih }));
    const text = `${name} ${hhmm(t)}`;
    // Labels near the right edge end at their marker instead of running off the chart.
    const flip = mx + text.length * 6.5 + 4 > W - 2;
    mg.append(s('text', { class: `marker-label ${name}`, x: f(flip ? mx - 4 : mx + 4), y: m.top - 30 + Math.min(row, 2) * 12, 'text-anchor': flip ? 'end' : 'start' }, text));
  }
  svg.append(mg);

  const legend = h(
    'p',
    { class: 'legend' },
    h('span', { class: 'key reports-key' }, 'reports'),
    h('span', { class: 'key baseline-key' }, 'baseline'),
    h('span', { class: 'key span-key' }, 'incident'),
  );
  return h(
    'figure',
    { class: 'chart' },
    h('div', { class: 'chart-scroll' }, svg),
    legend,
    h('figcaption', { class: 'muted' }, `${points.length} points, one per ${stepLabel}.`, series.baselineMethod ? ` Baseline: ${series.baselineMethod.replace(/\.?$/, '.')}` : ''),
  );
}

// ---------------------------------------------------------------------------------------------
// Routing and refreshing.

/** @returns {{name: 'overview'} | {name: 'incident', id: string}} */
function currentRoute() {
  const hash = location.hash;
  const m = /^#\/incidents\/(.+)$/.exec(hash);
  if (m) {
    try {
      return { name: 'incident', id: decodeURIComponent(m[1]) };
    } catch {
      return { name: 'overview' };
    }
  }
  return { name: 'overview' };
}

let rendering = Promise.resolve();

/** Renders the current route (again). @param {boolean} navigated */
function render(navigated) {
  const seq = ++renderSeq;
  clearTimeout(retryTimer);
  retryTimer = undefined;
  const route = currentRoute();
  if (navigated) {
    main.replaceChildren(h('p', { class: 'loading' }, 'Loading…'));
    window.scrollTo(0, 0);
  }
  rendering = (route.name === 'incident' ? renderIncident(route.id, seq) : renderOverview(seq)).catch((err) => {
    if (seq !== renderSeq) return;
    main.replaceChildren(errorBox(err));
  });
  if (navigated) rendering.then(() => main.focus({ preventScroll: true }));
  return rendering;
}

function scheduleRetry() {
  if (retryTimer) return;
  retryTimer = setTimeout(() => {
    retryTimer = undefined;
    render(false);
  }, RETRY_MS);
}

// Live updates arrive in bursts (a replay at full speed sends hundreds per second): refresh at
// most once per REFRESH_MIN_MS, and once more after the burst.
let lastRefresh = 0;
let refreshing = false;
let pending = false;
/** @type {ReturnType<typeof setTimeout> | undefined} */
let refreshTimer;
function requestRefresh() {
  pending = true;
  if (refreshTimer || refreshing) return;
  const wait = Math.max(0, lastRefresh + REFRESH_MIN_MS - Date.now());
  refreshTimer = setTimeout(async () => {
    refreshTimer = undefined;
    refreshing = true;
    pending = false;
    lastRefresh = Date.now();
    await render(false);
    refreshing = false;
    if (pending) requestRefresh();
  }, wait);
}

/** @param {string} state @param {string} text */
function setLive(state, text) {
  liveEl.setAttribute('data-state', state);
  liveText.textContent = text;
}

/** @type {ReturnType<typeof setTimeout> | undefined} */
let trailingTimer;
/** @type {EventSource | null} */
let source = null;
let backoff = 1000;
function connect() {
  if (!('EventSource' in window)) {
    setLive('off', 'no live updates in this browser');
    return;
  }
  setLive('connecting', 'connecting…');
  const es = new EventSource(`${API}events`);
  source = es;
  let everOpen = false;
  es.addEventListener('open', () => {
    backoff = 1000;
    setLive('on', 'live');
    // After a reconnect, changes may have been missed: reload what is shown.
    if (everOpen) requestRefresh();
    everOpen = true;
  });
  es.addEventListener('incident', (ev) => {
    let data;
    try {
      data = JSON.parse(/** @type {MessageEvent} */ (ev).data);
    } catch {
      return;
    }
    const inc = data?.incident;
    if (!inc || typeof inc.id !== 'string') return;
    announceEl.textContent = `Incident ${serviceName(inc.service)} ${data.event}.`;
    if (Number.isInteger(inc.revision) && typeof inc.startedAt === 'string') {
      const prev = liveIncidents.get(inc.id);
      if (!prev || inc.revision > prev.revision) liveIncidents.set(inc.id, inc);
      if (liveIncidents.size > 200) liveIncidents.delete(liveIncidents.keys().next().value);
    }
    const route = currentRoute();
    if (route.name === 'overview' || route.id === inc.id) {
      requestRefresh();
      // The store may record the change a moment after the event: look once more afterwards.
      clearTimeout(trailingTimer);
      trailingTimer = setTimeout(requestRefresh, TRAILING_REFRESH_MS);
    }
  });
  es.addEventListener('error', () => {
    if (es.readyState === EventSource.CLOSED) {
      // The browser gave up (an HTTP error or a wrong content type): try again ourselves.
      setLive('off', 'live updates lost, retrying…');
      es.close();
      if (source === es) source = null;
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 30_000);
    } else {
      setLive('connecting', 'reconnecting…');
    }
  });
}

window.addEventListener('hashchange', () => render(true));
document.querySelector('a.skip')?.addEventListener('click', (ev) => {
  ev.preventDefault();
  main.focus();
});
render(true);
connect();
