// Numbers for people: sizes, rates and durations with sane precision (pure; the CLI and error messages share them).

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 0 B, 999 B, 1.5 KiB, 12.3 MiB, 123 GiB: whole bytes, then one decimal below 100, none from 100 on. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '? B';
  let v = n;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  if (u === 0) return `${Math.round(v)} B`;
  let text = v.toFixed(v >= 100 ? 0 : 1);
  // 1023.96 KiB rounds to "1024": show it as the next unit instead.
  if (Number(text) >= 1024 && u < UNITS.length - 1) {
    u++;
    text = (v / 1024).toFixed(1);
  }
  return `${text} ${UNITS[u]}`;
}

/** A transfer rate: bytes per second, e.g. "849 B/s", "12.4 MiB/s". */
export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** 850 ms, 4.2 s, 59.9 s, 3m05s, 2h07m, 3d04h. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  if (ms < 999.5) return `${Math.round(ms)} ms`;
  const tenths = Math.round(ms / 100);
  if (tenths < 600) return `${(tenths / 10).toFixed(1)} s`;
  const totalS = Math.round(ms / 1000);
  const m = Math.floor(totalS / 60);
  if (m < 60) return `${m}m${String(totalS % 60).padStart(2, '0')}s`;
  const totalM = Math.round(ms / 60_000);
  const h = Math.floor(totalM / 60);
  if (h < 48) return `${h}h${String(totalM % 60).padStart(2, '0')}m`;
  const totalH = Math.round(ms / 3_600_000);
  return `${Math.floor(totalH / 24)}d${String(totalH % 24).padStart(2, '0')}h`;
}

/** A number of hours or days as configured (may be fractional): at most two decimals, no trailing zeros. */
export function formatAmount(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  return String(Math.round(n * 100) / 100);
}
