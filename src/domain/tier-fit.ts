// Whether an engine's schedule and backup method can meet the env's RPO target (pure): what doctor and status say
// before a breach happens. The worst RPO of a schedule is its longest gap between runs plus one backup's duration.

export type Fit = { status: 'ok' | 'warn' | 'fail'; detail: string; fix?: string | undefined };

export interface FitInput {
  engine: 'postgres' | 'redis' | 'neo4j';
  env: string;
  /** The tier's RPO target in seconds (undefined: the env has no tier). */
  rpoTargetSec: number | undefined;
  /** The engine's schedule (undefined: none configured in igbackup.yaml). */
  cron: string | undefined;
  /** Longest gap between two runs of the schedule, in seconds. */
  gapSec: number | undefined;
  /** The newest backup's duration, in seconds (a backup taken at the run finishes this much later). */
  lastDurationSec?: number | undefined;
  /** postgres: point-in-time recovery configured (WAL archived continuously). */
  pitr?: boolean | undefined;
  /** neo4j: the edition (community dumps offline: the database stops for each). */
  edition?: 'community' | 'enterprise' | undefined;
  /** redis: backups come from a replica (redis.replica), so the primary is never forked for them. */
  replica?: boolean | undefined;
  /** redis: `redis heartbeat` is scheduled, so drills and status measure the RPO by the data itself. */
  heartbeat?: boolean | undefined;
}

/** At or below this RPO target a Redis backed up from its primary forks it too often to call the schedule ok. */
const REDIS_TIGHT_SEC = 15 * 60;

const human = (sec: number): string =>
  sec < 60
    ? `${sec} s`
    : sec % 86_400 === 0
      ? `${sec / 86_400} d`
      : sec % 3600 === 0
        ? `${sec / 3600} h`
        : sec % 60 === 0
          ? `${sec / 60} min`
          : `${Math.round(sec / 60)} min`;

export function tierFit(x: FitInput): Fit {
  if (x.rpoTargetSec === undefined) return { status: 'ok', detail: 'the env has no tier: no RPO target to meet' };
  const target = human(x.rpoTargetSec);
  if (x.engine === 'postgres' && x.pitr) {
    return {
      status: 'ok',
      detail: `point-in-time recovery: the RPO is the archiving lag (archive_timeout), not the dump schedule; target ${target}`,
    };
  }
  const community =
    x.engine === 'neo4j' && x.edition !== 'enterprise'
      ? ' Neo4j Community dumps offline: the RPO equals the dump interval, and each dump stops the database.'
      : '';
  if (x.cron === undefined || x.gapSec === undefined) {
    return {
      status: 'warn',
      detail: `no schedule.${x.engine} in the config: nothing here says backups run often enough for the ${target} RPO target.${community}`,
      fix: `set envs.${x.env}.schedule.${x.engine} (then igbackup schedule crontab|k8s --env ${x.env}), or check the scheduler that runs the backups`,
    };
  }
  const duration = Math.round(x.lastDurationSec ?? 0);
  const worst = x.gapSec + duration;
  if (worst > x.rpoTargetSec) {
    const pgHint =
      x.engine === 'postgres' ? ' or turn on point-in-time recovery (postgres.pitr, then igbackup pitr enable)' : '';
    return {
      status: 'fail',
      detail: `"${x.cron}" leaves up to ${human(x.gapSec)} between backups${duration ? ` (plus ${human(duration)} per backup)` : ''}: more than the ${target} RPO target.${community}`,
      fix: `run backups at least every ${human(Math.max(60, x.rpoTargetSec - duration))} (schedule.${x.engine})${pgHint}`,
    };
  }
  if (community) return { status: 'warn', detail: `"${x.cron}" meets the ${target} RPO target.${community}` };
  if (x.engine === 'redis' && x.rpoTargetSec <= REDIS_TIGHT_SEC && (!x.replica || !x.heartbeat)) {
    return {
      status: 'warn',
      detail: `"${x.cron}" meets the ${target} RPO target, but${x.replica ? '' : ' every backup forks the primary (copy-on-write memory, latency)'}${!x.replica && !x.heartbeat ? ' and' : ''}${x.heartbeat ? '' : ' nothing measures the RPO in the data itself'}`,
      fix: [
        x.replica ? '' : `set envs.${x.env}.redis.replica to back up from a replica`,
        x.heartbeat ? '' : `schedule.redisHeartbeat "* * * * *" (igbackup redis heartbeat)`,
      ]
        .filter(Boolean)
        .join('; '),
    };
  }
  return {
    status: 'ok',
    detail: `"${x.cron}": at most ${human(worst)} between backups, within the ${target} RPO target`,
  };
}
