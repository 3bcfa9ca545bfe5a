/**
 * Scans directories of certificate files, and PEM or JWKS documents served over HTTP(S), into
 * CertObservations (formats: `sources.ts`). Chains are linked across everything one scan found.
 * A file that cannot be read or parsed yields an error naming the file and line; the scan goes on.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join, relative } from 'node:path';
import type { CertObservation } from '../../schemas/contracts.ts';
import { parseCertFile, type FileParse, type SourceOptions } from './sources.ts';
import { linkIssuers } from './x509.ts';

export interface ScanError {
  file: string;
  line: number;
  message: string;
}

export interface ScanResult {
  observations: CertObservation[];
  errors: ScanError[];
  files: number;
}

/** Files larger than this are not certificates (a bundle of thousands is a few MB). */
const MAX_FILE_BYTES = 16 * 1024 * 1024;

function walk(dir: string): string[] {
  if (statSync(dir).isFile()) return [dir];
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.name.startsWith('.')) continue;
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(p));
    else if (entry.isFile()) out.push(p);
  }
  return out;
}

/** Turns parsed files into observations stamped `ts`, linking issuers across all of them. */
function toObservations(parsed: { file: string; parse: FileParse }[], ts: string): CertObservation[] {
  linkIssuers(parsed.flatMap((p) => p.parse.found.map((f) => f.cert)));
  return parsed.flatMap(({ file, parse }) => {
    const stem = basename(file, extname(file));
    const fromCerts = parse.found.map((f, i) => ({
      ts,
      source: f.source ?? ('file' as const),
      ...f.cert.facts,
      endpoint: f.endpoint ? `${file}#${f.endpoint}` : file,
      name: f.name ?? (i === 0 ? stem : `${stem}#${i + 1}`),
    }));
    const fromCt = parse.ctFacts.map((f) => ({ ts, ...f.facts, endpoint: file }));
    return [...fromCerts, ...fromCt];
  });
}

/**
 * @param root directory to scan (recursively), or one file
 * @param ts   observation time to stamp (event time: the scan's own time, or a replay's first event)
 * @param base paths in `endpoint` are relative to this directory
 */
export async function scanCertDir(root: string, ts: string, base = root, opts: SourceOptions = {}): Promise<ScanResult> {
  const errors: ScanError[] = [];
  const parsed: { file: string; parse: FileParse }[] = [];
  const files = walk(root);
  for (const file of files) {
    const rel = relative(base, file);
    try {
      if (statSync(file).size > MAX_FILE_BYTES) {
        errors.push({ file: rel, line: 0, message: `larger than ${MAX_FILE_BYTES} bytes, skipped` });
        continue;
      }
      const parse = await parseCertFile(file, readFileSync(file), opts);
      for (const e of parse.errors) errors.push({ file: rel, ...e });
      parsed.push({ file: rel, parse });
    } catch (err) {
      errors.push({ file: rel, line: 0, message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
    }
  }
  return { observations: toObservations(parsed, ts), errors, files: files.length };
}

/** PEM bundles or JWKS documents served over HTTP(S) (e.g. a sign-in provider's keys URL). */
export async function scanUrls(urls: string[], ts: string, opts: SourceOptions & { timeoutMs?: number } = {}): Promise<ScanResult> {
  const errors: ScanError[] = [];
  const parsed: { file: string; parse: FileParse }[] = [];
  for (const url of urls) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000), headers: { accept: 'application/json, application/x-pem-file, */*' } });
      if (!res.ok) {
        errors.push({ file: url, line: 0, message: `HTTP ${res.status}` });
        continue;
      }
      const bytes = new Uint8Array(await res.arrayBuffer());
      if (bytes.length > MAX_FILE_BYTES) {
        errors.push({ file: url, line: 0, message: `larger than ${MAX_FILE_BYTES} bytes, skipped` });
        continue;
      }
      const parse = await parseCertFile(new URL(url).pathname || 'document', bytes, opts);
      for (const e of parse.errors) errors.push({ file: url, ...e });
      parsed.push({ file: url, parse });
    } catch (err) {
      errors.push({ file: url, line: 0, message: `cannot fetch: ${(err as Error).message}` });
    }
  }
  return { observations: toObservations(parsed, ts), errors, files: urls.length };
}
