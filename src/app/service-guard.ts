// While a run has a service stopped (a Redis or Neo4j restore, an offline Neo4j backup), cancelling must not stop
// igbackup before it has brought the service back: this records which services are down and how to bring them back,
// so the signal handling in src/main.ts can wait for the recovery, or, if the operator insists, say what is down.

export interface DownService {
  /** "Redis 127.0.0.1:6379", "Neo4j (systemctl start neo4j)". */
  service: string;
  /** Commands that bring it back by hand. */
  commands: string[];
}

export interface ServiceGuard {
  /** The service is down (or may be) until the returned function is called. */
  stopped(service: string, commands: string[]): () => void;
  /** The services down right now, oldest first. */
  down(): DownService[];
}

export function serviceGuard(): ServiceGuard {
  const entries = new Set<DownService>();
  return {
    stopped(service, commands) {
      const e = { service, commands };
      entries.add(e);
      return () => {
        entries.delete(e);
      };
    },
    down: () => [...entries],
  };
}
