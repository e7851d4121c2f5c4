// Checks a schedule's cron expression: only what both crontab(5) and a Kubernetes CronJob accept, ranges by cron-parser.

import { CronExpressionParser } from 'cron-parser';

/** Macros that Vixie cron/cronie, Kubernetes (robfig/cron) and cron-parser all understand. */
export const CRON_MACROS = ['@hourly', '@daily', '@weekly', '@monthly', '@yearly', '@annually'] as const;

const FIELDS = ['minute', 'hour', 'day of month', 'month', 'day of week'] as const;
const MAX = [59, 23, 31, 12, 6];
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
/** One list element: "*", "N" or "N-M", with an optional "/STEP" (crontab(5) takes a step only after "*" or a range). */
const ELEMENT = /^(\*(\/\d+)?|\d+|\d+-\d+(\/\d+)?)$/;

/** Returns why `expr` is not a usable schedule, or undefined when crontab, Kubernetes and cron-parser all accept it. */
export function cronProblem(expr: string): string | undefined {
  const text = expr.trim();
  if (text.startsWith('@')) {
    if ((CRON_MACROS as readonly string[]).includes(text)) return undefined;
    return `"${expr}" is not a schedule macro igbackup accepts; use one of ${CRON_MACROS.join(', ')} or five fields (minute hour day-of-month month day-of-week)`;
  }
  const fields = text.split(/\s+/);
  if (fields.length !== 5) {
    return `"${expr}" has ${fields.length} field${fields.length === 1 ? '' : 's'}; a schedule needs exactly five: minute hour day-of-month month day-of-week (crontab and CronJob take no seconds or year field)`;
  }
  for (const [i, field] of fields.entries()) {
    const problem = fieldProblem(field, i);
    if (problem) return `"${expr}": ${FIELDS[i]} field "${field}": ${problem}`;
  }
  try {
    CronExpressionParser.parse(text);
  } catch (err) {
    return `"${expr}" is not a valid cron expression: ${(err as Error).message}`;
  }
  return undefined;
}

/** The syntax crontab(5) and robfig/cron share, field by field; cron-parser then checks the ranges. */
function fieldProblem(field: string, index: number): string | undefined {
  const names = index === 3 ? MONTHS : index === 4 ? DAYS : [];
  if (names.includes(field.toLowerCase())) return undefined;
  if (/[a-z]/i.test(field)) {
    return names.length
      ? `names are accepted only alone (${names.slice(0, 3).join(', ')}, ...), not in lists or ranges, and no other letters (no L, W or H)`
      : 'letters are not accepted here (no L, W or H: crontab does not know them)';
  }
  for (const element of field.split(',')) {
    if (!ELEMENT.test(element)) {
      if (/[?#]/.test(element)) return `"${element}": "?" and "#" are not understood by crontab`;
      if (/^\d+\/\d+$/.test(element))
        return `"${element}": crontab takes a step only after "*" or a range (write ${element.replace('/', `-${MAX[index] ?? 0}/`)})`;
      return `"${element}" is not "*", a number or a range, with an optional /step`;
    }
    const values = (element.split('/')[0] ?? '').split('-');
    if (index === 4 && values.includes('7'))
      return '7 for Sunday is not accepted by Kubernetes CronJobs (days 0-6); use 0';
  }
  return undefined;
}

/**
 * The longest time between two runs of a valid schedule, in seconds: the worst RPO it can give. Runs are walked from
 * `from` over at most 400 days or 5000 runs (a schedule every minute shows its gap at once; a yearly one needs a year).
 */
export function longestGapSeconds(expr: string, from: Date): number {
  const it = CronExpressionParser.parse(expr.trim(), { currentDate: from, tz: 'UTC' });
  const end = from.getTime() + 400 * 86_400_000;
  let prev = it.next().getTime();
  let longest = 0;
  for (let i = 0; i < 5000 && prev < end; i++) {
    const next = it.next().getTime();
    longest = Math.max(longest, next - prev);
    prev = next;
  }
  return Math.round(longest / 1000);
}
