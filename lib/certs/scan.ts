/**
 * Scans directories of certificate files, and PEM or JWKS documents served over HTTP(S), into
 * CertObservations (formats: `sources.ts`). Chains are linked across everything one scan found.
 * A file that cannot be read or parsed yields an error naming the file and line; the scan goes on.
 *
 * What a directory scan reads, and what it names in `errors` instead (never a silent skip, never
 * a blocked scan):
 *
 * - regular files, up to `MAX_FILE_BYTES`; larger ones are named;
 * - symbolic links to regular files are followed wherever they point: Kubernetes mounts secrets as
 *   `tls.crt -> ..data/tls.crt`, and `/etc/ssl/certs` links into `/usr/share/ca-certificates`; the
 *   certificate is observed at the link's path (where it is used). Dangling links and link loops
 *   (`ELOOP`) are named;
 * - symbolic links to directories are followed when they stay inside the scanned tree and do not
 *   lead back to a directory that encloses them (a loop); others are named, not followed, and a
 *   directory reached a second time is named rather than scanned twice;
 * - FIFOs, sockets and devices are named and never opened (opening a FIFO blocks until a writer
 *   comes); files are opened with `O_NONBLOCK` and checked again after opening, so one swapped in
 *   meanwhile cannot block the scan either;
 * - unreadable files and directories (`EACCES`) are named;
 * - names starting with `.` are not looked at (editor and VCS files; Kubernetes' `..data`
 *   internals, whose files are reached through their links).
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readFileSync, readlinkSync, realpathSync, statSync, type Stats } from 'node:fs';
import { basename, extname, join, relative, sep } from 'node:path';
import type { CertObservation } from '../../schemas/contracts.ts';
import { check } from '../../schemas/decode.ts';
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
export const MAX_FILE_BYTES = 16 * 1024 * 1024;

/** What a file that is not a regular file or directory is, for the message that names it. */
function specialKind(st: Stats): string | undefined {
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (!st.isFile() && !st.isDirectory() && !st.isSymbolicLink()) return 'not a regular file';
  return undefined;
}

const codeOf = (err: unknown) => (err as NodeJS.ErrnoException).code ?? (err as Error).message;

/** Why a path could not be read, from its error code. */
function unreadable(err: unknown): string {
  const code = codeOf(err);
  if (code === 'ELOOP') return 'symlink loop (ELOOP): skipped';
  if (code === 'EACCES' || code === 'EPERM') return `unreadable (${code}: permission denied): skipped`;
  return `cannot read (${code}): skipped`;
}

/**
 * The regular files under `root` (itself when it is one), following the rules above; every
 * other entry is named in `errors` with why.
 */
function walk(root: string, base: string, errors: ScanError[]): string[] {
  const out: string[] = [];
  const skip = (path: string, message: string) => errors.push({ file: relative(base, path) || path, line: 0, message });
  let rootReal: string;
  try {
    rootReal = realpathSync(root);
  } catch (err) {
    // A dangling link or a loop named directly: say which.
    let message = unreadable(err);
    try {
      if (lstatSync(root).isSymbolicLink() && codeOf(err) === 'ENOENT') message = `dangling symlink to ${readlinkSync(root)}: skipped`;
    } catch {
      // lstat failed too: the path does not exist.
    }
    skip(root, message);
    return out;
  }
  const inside = (real: string) => real === rootReal || real.startsWith(rootReal.endsWith(sep) ? rootReal : rootReal + sep);
  const scannedDirs = new Map<string, string>();

  // Depth-first, names sorted; loops are cut by `ancestors` (real paths), so depth is bounded by the tree.
  // `parentReal`: the real path of the directory holding `path`, for a directory reached without a link.
  const visit = (path: string, st: Stats, ancestors: ReadonlySet<string>, viaLink: boolean, parentReal?: string) => {
    if (st.isFile()) return void out.push(path);
    const kind = specialKind(st);
    if (kind) return skip(path, `${kind}, not a regular file: skipped${st.isFIFO() ? ' (never opened: reading it would block the scan)' : ''}`);
    if (!st.isDirectory()) return;
    let real: string;
    try {
      real = viaLink || parentReal === undefined ? realpathSync(path) : join(parentReal, basename(path));
    } catch (err) {
      return skip(path, unreadable(err));
    }
    if (ancestors.has(real)) return skip(path, `symlink loop: leads back to ${relative(base, real) || real}, which encloses it: not followed`);
    if (!inside(real)) return skip(path, `symlink to a directory outside the scanned tree (${real}): not followed`);
    const first = scannedDirs.get(real);
    if (first !== undefined) return skip(path, `symlink to a directory already scanned as ${relative(base, first) || first}: not scanned twice`);
    scannedDirs.set(real, path);
    let entries;
    try {
      entries = readdirSync(path, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
    } catch (err) {
      return skip(path, `cannot list the directory: ${unreadable(err)}`);
    }
    const inner = new Set(ancestors).add(real);
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const p = join(path, entry.name);
      if (entry.isSymbolicLink()) {
        let target: Stats;
        try {
          target = statSync(p);
        } catch (err) {
          if (codeOf(err) === 'ENOENT') {
            let to = '?';
            try {
              to = readlinkSync(p);
            } catch {
              // Gone meanwhile.
            }
            skip(p, `dangling symlink to ${to}: skipped`);
          } else skip(p, unreadable(err));
          continue;
        }
        visit(p, target, inner, true);
        continue;
      }
      if (entry.isFile()) {
        out.push(p);
        continue;
      }
      let st: Stats;
      try {
        st = lstatSync(p);
      } catch (err) {
        skip(p, unreadable(err));
        continue;
      }
      visit(p, st, inner, false, real);
    }
  };

  let st: Stats;
  try {
    st = statSync(root);
  } catch (err) {
    skip(root, unreadable(err));
    return out;
  }
  visit(root, st, new Set(), true);
  return out;
}

/**
 * Reads a regular file without ever blocking: opened with `O_NONBLOCK` (a FIFO swapped in after
 * the directory was listed opens at once instead of waiting for a writer) and checked after
 * opening. Returns the bytes or why not.
 */
function readRegularFile(path: string): { bytes: Buffer } | { problem: string } {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    return { problem: unreadable(err) };
  }
  try {
    const st = fstatSync(fd);
    const kind = specialKind(st) ?? (st.isFile() ? undefined : 'not a regular file');
    if (kind) return { problem: `${kind}, not a regular file: skipped` };
    if (st.size > MAX_FILE_BYTES) return { problem: `larger than ${MAX_FILE_BYTES} bytes, skipped` };
    const bytes = readFileSync(fd);
    if (bytes.length > MAX_FILE_BYTES) return { problem: `larger than ${MAX_FILE_BYTES} bytes, skipped` };
    return { bytes };
  } catch (err) {
    return { problem: unreadable(err) };
  } finally {
    closeSync(fd);
  }
}

/**
 * Turns parsed files into observations stamped `ts`, linking issuers across all of them. An
 * observation that breaks its contract (a certificate dated before 1950) is named, not published.
 */
function toObservations(parsed: { file: string; parse: FileParse }[], ts: string, errors: ScanError[]): CertObservation[] {
  linkIssuers(parsed.flatMap((p) => p.parse.found.map((f) => f.cert)));
  return parsed.flatMap(({ file, parse }) => {
    const stem = basename(file, extname(file));
    const fromCerts = parse.found.map((f, i) => ({
      line: f.cert.line,
      o: {
        ts,
        source: f.source ?? ('file' as const),
        ...f.cert.facts,
        endpoint: f.endpoint ? `${file}#${f.endpoint}` : file,
        name: f.name ?? (i === 0 ? stem : `${stem}#${i + 1}`),
      },
    }));
    const fromCt = parse.ctFacts.map((f) => ({ line: 0, o: { ts, ...f.facts, endpoint: file } }));
    return [...fromCerts, ...fromCt].flatMap(({ line, o }) => {
      const r = check('CertObservation', o);
      if (r.ok) return [r.value];
      errors.push({ file, line, message: `certificate refused by the CertObservation contract (${r.reason}): ${r.detail}` });
      return [];
    });
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
  const files = walk(root, base, errors);
  for (const file of files) {
    const rel = relative(base, file) || file;
    const read = readRegularFile(file);
    if ('problem' in read) {
      errors.push({ file: rel, line: 0, message: read.problem });
      continue;
    }
    try {
      const parse = await parseCertFile(file, read.bytes, opts);
      for (const e of parse.errors) errors.push({ file: rel, ...e });
      parsed.push({ file: rel, parse });
    } catch (err) {
      errors.push({ file: rel, line: 0, message: `cannot parse: ${(err as Error).message}` });
    }
  }
  return { observations: toObservations(parsed, ts, errors), errors, files: files.length };
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
  return { observations: toObservations(parsed, ts, errors), errors, files: urls.length };
}
