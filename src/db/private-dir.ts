import fs from 'node:fs';
import path from 'node:path';

// The embedded database's directory holds every key's material (wrapped) and, beside it,
// the master key file: only the service's own user may read it (issue 14.3). PGlite creates
// its files 0666 less the umask, so the directory is made 0700 and its files 0600 whatever
// the umask: the process umask is tightened while a data directory is in use, and the tree
// is tightened when it is opened and closed. Group/other bits mean nothing on Windows.

const checksModes = process.platform !== 'win32';

/**
 * Creates the directory 0700 if it is missing. Answers a warning for each existing path
 * (the directory and what is inside) whose mode lets group or others in, before tightening.
 */
export function checkDataDirModes(dir: string): string[] {
  if (!fs.existsSync(dir)) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (checksModes) fs.chmodSync(dir, 0o700);
    return [];
  }
  if (!checksModes) return [];
  const loose: string[] = [];
  walk(dir, (p, stat) => {
    if ((stat.mode & 0o077) !== 0) loose.push(`${p} (${(stat.mode & 0o777).toString(8).padStart(4, '0')})`);
  });
  if (loose.length === 0) return [];
  const shown = loose.slice(0, 5).join(', ');
  return [
    `the data directory ${dir} is readable by group or others: ${loose.length} path(s) looser than 0700/0600, ` +
      `e.g. ${shown}; tightened to 0700 (directories) and 0600 (files)`,
  ];
}

/** Directories 0700, files 0600, under and including `dir`. Symbolic links are left alone. */
export function tightenDataDir(dir: string): void {
  if (!checksModes) return;
  walk(dir, (p, stat) => {
    const wanted = stat.isDirectory() ? 0o700 : 0o600;
    if ((stat.mode & 0o777) !== wanted) {
      try {
        fs.chmodSync(p, wanted);
      } catch {
        // a file that vanished meanwhile (PGlite's temporary files)
      }
    }
  });
}

/** Removes group and other bits from the process umask (it only ever gets tighter). */
export function tightenUmask(): void {
  if (!checksModes) return;
  const previous = process.umask(0o077);
  process.umask(previous | 0o077);
}

function walk(dir: string, visit: (p: string, stat: fs.Stats) => void): void {
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(dir);
  } catch {
    return;
  }
  if (stat.isSymbolicLink()) return;
  visit(dir, stat);
  if (!stat.isDirectory()) return;
  for (const name of fs.readdirSync(dir)) walk(path.join(dir, name), visit);
}
