/**
 * Scans directories of certificate files (PEM bundles, DER) into CertObservations. A file that
 * cannot be read or parsed yields an error naming the file and line; the scan goes on.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join, relative } from 'node:path';
import type { CertObservation } from '../../schemas/contracts.ts';
import { linkIssuers, parseCertificates, type ParsedCert } from './x509.ts';

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
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.name.startsWith('.')) continue;
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(p));
    else if (entry.isFile()) out.push(p);
  }
  return out;
}

/**
 * @param root directory to scan (recursively)
 * @param ts   observation time to stamp (event time: the scan's own time, or a replay's first event)
 * @param base paths in `endpoint` are relative to this directory
 */
export function scanCertDir(root: string, ts: string, base = root): ScanResult {
  const errors: ScanError[] = [];
  const parsed: { file: string; cert: ParsedCert; name: string }[] = [];
  const files = walk(root);
  for (const file of files) {
    const rel = relative(base, file);
    let bytes: Buffer;
    try {
      if (statSync(file).size > MAX_FILE_BYTES) {
        errors.push({ file: rel, line: 0, message: `larger than ${MAX_FILE_BYTES} bytes, skipped` });
        continue;
      }
      bytes = readFileSync(file);
    } catch (err) {
      errors.push({ file: rel, line: 0, message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
      continue;
    }
    const { certs, errors: errs } = parseCertificates(bytes);
    for (const e of errs) errors.push({ file: rel, ...e });
    const stem = basename(file, extname(file));
    certs.forEach((cert, i) => parsed.push({ file: rel, cert, name: i === 0 ? stem : `${stem}#${i + 1}` }));
  }
  linkIssuers(parsed.map((p) => p.cert));
  const observations = parsed.map(({ file, cert, name }) => ({
    ts,
    source: 'file' as const,
    ...cert.facts,
    endpoint: file,
    name,
  }));
  return { observations, errors, files: files.length };
}
