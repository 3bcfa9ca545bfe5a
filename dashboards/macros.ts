/**
 * A small expander of what Grafana and the ClickHouse plugin (grafana-clickhouse-datasource v4)
 * do to a query's SQL before ClickHouse sees it, so the tests can run every panel, variable and
 * annotation query on chDB. In the plugin's order:
 *
 * 1. `$__conditionalAll(cond, $var)` (front end, `CHDatasource.applyConditionalAll`): `1=1` when
 *    the variable's current value is "All" (`$__all`) or empty, else `cond`. Arguments are split at
 *    the commas outside nested parentheses, as the plugin's `getMacroArgs` does.
 * 2. Template variables (Grafana's `templateSrv.replace` with the plugin's format function):
 *    `${var:singlequote}` → `'a','b'` (each `'` escaped as `\'`), `${var:sqlstring}` → `'a','b'`
 *    (each `'` doubled), `${var:raw}` / `${var:csv}` → `a,b`, and `${var}` / `$var` with the
 *    plugin's default: a multi-value selection as `'a','b'`, a single value as it is. "All" stands
 *    for every option of the variable (none of our variables sets a custom all value).
 * 3. Backend macros (pkg/macros/macros.go), from the time range and interval:
 *    `$__timeFilter(c)` → `c >= toDateTime(from_s) AND c <= toDateTime(to_s)`,
 *    `$__timeFilter_ms(c)` (with `fromUnixTimestamp64Milli(ms)`), `$__fromTime` / `$__toTime` →
 *    `toDateTime(s)`, `$__fromTime_ms` / `$__toTime_ms`, `$__dateFilter(c)`,
 *    `$__timeInterval(c)` → `toStartOfInterval(toDateTime(c), INTERVAL n second)`,
 *    `$__interval_s` → `n` (at least 1).
 *
 * Anything else that looks like a macro or a variable and is not known throws, so a typo in a
 * dashboard fails the test instead of reaching Grafana.
 *
 * @example
 * expandQuery("SELECT 1 FROM t WHERE $__conditionalAll(s IN (${service:singlequote}), $service) AND $__timeFilter(ts)",
 *   { fromMs: 0, toMs: 60_000, intervalS: 60, vars: { service: { value: ['teams'], options: ['teams', 'zoom'] } } })
 * // "SELECT 1 FROM t WHERE s IN ('teams') AND ts >= toDateTime(0) AND ts <= toDateTime(60)"
 */

export interface VariableValue {
  /** The selection: one value, several, or `'$__all'` / `['$__all']` for "All". */
  value: string | string[];
  /** Every option of the variable (what "All" stands for). */
  options?: string[];
}

export interface MacroContext {
  fromMs: number;
  toMs: number;
  /** The panel's interval in seconds (`$__interval_s`, `$__timeInterval`). */
  intervalS: number;
  vars: Record<string, VariableValue>;
}

const ALL = '$__all';
const isAll = (v: VariableValue) => (Array.isArray(v.value) ? v.value.length === 0 || v.value.includes(ALL) : v.value === '' || v.value === ALL);

/** The arguments of the macro whose `(` is at `open`, split at top-level commas, and the index after its `)`. */
function macroArgs(sql: string, open: number): { args: string[]; end: number } {
  const args: string[] = [];
  let depth = 0;
  let start = open + 1;
  for (let i = open; i < sql.length; i++) {
    const c = sql[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    if (c === ',' && depth === 1) {
      args.push(sql.slice(start, i));
      start = i + 1;
    }
    if (depth === 0) {
      args.push(sql.slice(start, i));
      return { args, end: i + 1 };
    }
  }
  throw new Error(`unbalanced parentheses after ${sql.slice(Math.max(0, open - 20), open + 1)}`);
}

function variable(ctx: MacroContext, name: string): VariableValue {
  const v = ctx.vars[name];
  if (!v) throw new Error(`unknown template variable $${name}`);
  return v;
}

export function applyConditionalAll(sql: string, ctx: MacroContext): string {
  const macro = '$__conditionalAll(';
  let at = sql.lastIndexOf(macro);
  while (at !== -1) {
    const { args, end } = macroArgs(sql, at + macro.length - 1);
    if (args.length !== 2) throw new Error(`$__conditionalAll takes 2 arguments, got ${args.length}: ${sql.slice(at, end)}`);
    const name = /\$\{?(\w+)\}?/.exec(args[1]!.trim())?.[1];
    if (!name) throw new Error(`$__conditionalAll needs a variable as its second argument: ${sql.slice(at, end)}`);
    const phrase = isAll(variable(ctx, name)) ? '1=1' : args[0]!;
    sql = sql.slice(0, at) + phrase + sql.slice(end);
    at = sql.lastIndexOf(macro);
  }
  return sql;
}

function values(v: VariableValue): string[] {
  if (isAll(v)) {
    if (!v.options) throw new Error('"All" selected but the variable has no options');
    return v.options;
  }
  return Array.isArray(v.value) ? v.value : [v.value];
}

function format(v: VariableValue, fmt: string | undefined): string {
  const vals = values(v);
  const multi = Array.isArray(v.value) || isAll(v);
  switch (fmt) {
    case undefined:
      return multi ? `'${vals.join("','")}'` : vals[0]!;
    case 'singlequote':
      return vals.map((x) => `'${x.replace(/'/g, "\\'")}'`).join(',');
    case 'sqlstring':
      return vals.map((x) => `'${x.replace(/'/g, "''")}'`).join(',');
    case 'raw':
    case 'csv':
      return vals.join(',');
    default:
      throw new Error(`variable format ${fmt} is not supported by this expander`);
  }
}

export function applyVariables(sql: string, ctx: MacroContext): string {
  return sql.replace(/\$\{(\w+)(?::(\w+))?\}|\$(\w+)/g, (whole, braced: string | undefined, fmt: string | undefined, bare: string | undefined) => {
    const name = (braced ?? bare)!;
    if (name.startsWith('__')) return whole; // a macro, expanded next
    return format(variable(ctx, name), fmt);
  });
}

const seconds = (ms: number) => Math.floor(ms / 1000);
const dateTime = (ms: number) => `toDateTime(${seconds(ms)})`;
const dateTime64 = (ms: number) => `fromUnixTimestamp64Milli(${ms})`;
const date = (ms: number) => `toDate('${new Date(ms).toISOString().slice(0, 10)}')`;

export function applyBackendMacros(sql: string, ctx: MacroContext): string {
  const interval = Math.max(1, Math.floor(ctx.intervalS));
  let out = '';
  let i = 0;
  const re = /\$__(\w+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(sql)) !== null) {
    const name = m[1]!;
    out += sql.slice(i, m.index);
    let end = m.index + m[0].length;
    let arg: string | undefined;
    if (sql[end] === '(') {
      const parsed = macroArgs(sql, end);
      if (parsed.args.length !== 1) throw new Error(`$__${name} takes 1 argument: ${sql.slice(m.index, parsed.end)}`);
      arg = parsed.args[0]!.trim();
      end = parsed.end;
    }
    const need = () => {
      if (arg === undefined) throw new Error(`$__${name} needs a column argument`);
      return arg;
    };
    switch (name) {
      case 'fromTime':
        out += dateTime(ctx.fromMs);
        break;
      case 'toTime':
        out += dateTime(ctx.toMs);
        break;
      case 'fromTime_ms':
        out += dateTime64(ctx.fromMs);
        break;
      case 'toTime_ms':
        out += dateTime64(ctx.toMs);
        break;
      case 'timeFilter':
        out += `${need()} >= ${dateTime(ctx.fromMs)} AND ${need()} <= ${dateTime(ctx.toMs)}`;
        break;
      case 'timeFilter_ms':
        out += `${need()} >= ${dateTime64(ctx.fromMs)} AND ${need()} <= ${dateTime64(ctx.toMs)}`;
        break;
      case 'dateFilter':
        out += `${need()} >= ${date(ctx.fromMs)} AND ${need()} <= ${date(ctx.toMs)}`;
        break;
      case 'timeInterval':
        out += `toStartOfInterval(toDateTime(${need()}), INTERVAL ${interval} second)`;
        break;
      case 'interval_s':
        out += String(interval);
        break;
      default:
        throw new Error(`unknown macro $__${name}`);
    }
    i = end;
    re.lastIndex = end;
  }
  return out + sql.slice(i);
}

/** The SQL ClickHouse receives for `sql` under `ctx` (see the steps above). */
export function expandQuery(sql: string, ctx: MacroContext): string {
  return applyBackendMacros(applyVariables(applyConditionalAll(sql, ctx), ctx), ctx);
}

/** Every `$var` / `${var…}` a query refers to (not the `$__` macros). */
export function variablesOf(sql: string): string[] {
  return [...new Set([...sql.matchAll(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g)].map((m) => (m[1] ?? m[2])!).filter((n) => !n.startsWith('__')))];
}
