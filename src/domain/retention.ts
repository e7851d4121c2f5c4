// Retention: which proven-complete backups to keep (newest N, or younger than D days; never the newest of a database).

export interface RetentionPolicy {
  keepLast: number;
  keepDays: number;
}

export interface Dated {
  key: string;
  engine: string;
  database: string;
  finishedAt: string;
  /** False when the backup's objects were replaced since it was taken: it cannot stand in for older backups. */
  intact?: boolean | undefined;
}

export interface RetentionDecision<T> {
  keep: { item: T; why: string }[];
  remove: { item: T; why: string }[];
}

/** Groups by engine + database, orders by manifest time (newest first), keeps what either rule keeps (pure). */
export function selectRetention<T extends Dated>(items: T[], policy: RetentionPolicy, now: Date): RetentionDecision<T> {
  const groups = new Map<string, T[]>();
  for (const it of items) {
    const g = `${it.engine}\u0000${it.database}`;
    groups.set(g, [...(groups.get(g) ?? []), it]);
  }
  const keep: RetentionDecision<T>['keep'] = [];
  const remove: RetentionDecision<T>['remove'] = [];
  const cutoff = now.getTime() - policy.keepDays * 86_400_000;
  for (const list of groups.values()) {
    list.sort((a, b) => Date.parse(b.finishedAt) - Date.parse(a.finishedAt) || b.key.localeCompare(a.key));
    let standIn = false; // whether a kept backup whose objects are as they were written is newer than this one
    list.forEach((it, i) => {
      const wasStandIn = standIn;
      standIn ||= it.intact !== false;
      if (i === 0)
        keep.push({
          item: it,
          why:
            it.intact === false
              ? 'newest complete backup (its objects were replaced since it was taken)'
              : 'newest complete backup',
        });
      else if (!wasStandIn)
        keep.push({
          item: it,
          why: 'every newer backup had objects replaced since it was taken (ETag differs): kept until an intact one is newer',
        });
      else if (i < policy.keepLast) keep.push({ item: it, why: `within the last ${policy.keepLast}` });
      else if (Date.parse(it.finishedAt) >= cutoff)
        keep.push({ item: it, why: `younger than ${policy.keepDays} days` });
      else
        remove.push({ item: it, why: `older than ${policy.keepDays} days and not within the last ${policy.keepLast}` });
    });
  }
  return { keep, remove };
}

/**
 * Keeps what a kept backup builds on (pure): a differential backup restores only with its whole chain, so retention
 * never removes a link of a kept one's chain, whatever its age.
 */
export function keepChains<T extends Dated & { parent?: string | undefined }>(
  d: RetentionDecision<T>,
): RetentionDecision<T> {
  const all = new Map([...d.keep, ...d.remove].map((x) => [x.item.key, x.item]));
  const needed = new Map<string, string>(); // a link -> the kept backup that needs it
  for (const { item } of d.keep)
    for (let p = item.parent; p !== undefined && !needed.has(p); p = all.get(p)?.parent) needed.set(p, item.key);
  const keep = [...d.keep];
  const remove: RetentionDecision<T>['remove'] = [];
  for (const r of d.remove) {
    const by = needed.get(r.item.key);
    if (by) keep.push({ item: r.item, why: `part of the backup chain of ${by} (a differential backup needs it)` });
    else remove.push(r);
  }
  return { keep, remove };
}
