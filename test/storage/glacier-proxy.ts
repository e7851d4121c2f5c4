// A stand-in for S3's archive classes in front of the test radosgw (which never transitions objects and answers
// RestoreObject with 501): objects the test marks as transitioned answer as AWS S3 documents for GLACIER/DEEP_ARCHIVE.

import { request, createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/**
 * What is modelled, for the objects passed to archive() only (every other request is forwarded untouched, Host header
 * included, so radosgw checks the client's SigV4 signature as usual):
 * - HeadObject adds x-amz-storage-class, and x-amz-restore once a restore was requested
 *   (ongoing-request="true", then ongoing-request="false", expiry-date="…").
 * - GetObject before the restore finished: 403 InvalidObjectState (nothing is forwarded).
 * - RestoreObject (POST ?restore): 202 Accepted the first time, 409 RestoreAlreadyInProgress while it runs,
 *   200 OK once a restored copy exists (AWS then only extends its expiry).
 * ListObjectsV2 is not rewritten (its StorageClass stays STANDARD): igbackup decides on HeadObject alone.
 */
interface Archived {
  cls: 'GLACIER' | 'DEEP_ARCHIVE';
  restore: 'none' | 'ongoing' | 'done';
  /** HeadObject answers still "ongoing" after the request before the retrieval finishes by itself. */
  pollsLeft: number;
}

export interface RestoreRequest {
  key: string;
  days: number;
  tier: string;
}

export class GlacierProxy {
  /** Request lines seen ("METHOD /bucket/key?query"), in order. */
  readonly seen: string[] = [];
  readonly restoreRequests: RestoreRequest[] = [];
  private readonly archived = new Map<string, Archived>();

  private constructor(
    private readonly server: Server,
    readonly endpoint: string,
    private readonly upstream: URL,
  ) {}

  /** Listens on a free loopback port in front of `upstream` (http://127.0.0.1:PORT). */
  static async start(upstream: string): Promise<GlacierProxy> {
    const sockets = new Set<Socket>();
    const server = createServer();
    server.on('connection', (s) => {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
    });
    server.on('close', () => sockets.forEach((s) => s.destroy()));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const addr = server.address();
    if (!addr || typeof addr === 'string') throw new Error('proxy has no port');
    const proxy = new GlacierProxy(server, `http://127.0.0.1:${addr.port}`, new URL(upstream));
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      proxy.handle(req, res).catch((err: Error) => res.destroy(err));
    });
    return proxy;
  }

  /**
   * What a lifecycle transition does to `bucket/key`. `pollsUntilDone`: how many HeadObject answers after the restore
   * request still say "ongoing" before the retrieval finishes by itself (default: never; see finishRestore).
   */
  archive(bucket: string, key: string, cls: Archived['cls'], opts: { pollsUntilDone?: number } = {}): void {
    this.archived.set(`${bucket}/${key}`, { cls, restore: 'none', pollsLeft: opts.pollsUntilDone ?? Infinity });
  }

  /** S3 finished the retrieval: a restored copy is readable. */
  finishRestore(bucket: string, key: string): void {
    const a = this.archived.get(`${bucket}/${key}`);
    if (!a || a.restore === 'none') throw new Error(`no restore of ${bucket}/${key} was requested`);
    a.restore = 'done';
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://proxy');
    this.seen.push(`${req.method} ${url.pathname}${url.search}`);
    const object = decodeURIComponent(url.pathname.slice(1));
    const a = this.archived.get(object);
    if (!a) return this.forward(req, res);
    if (req.method === 'POST' && url.searchParams.has('restore')) return this.restoreObject(req, res, object, a);
    if (req.method === 'GET' && a.restore !== 'done' && !url.searchParams.has('versions')) {
      req.resume();
      return fail(res, 403, 'InvalidObjectState', "The operation is not valid for the object's storage class", a.cls);
    }
    if (req.method !== 'HEAD') return this.forward(req, res);
    if (a.restore === 'ongoing' && a.pollsLeft-- <= 0) a.restore = 'done';
    const restore =
      a.restore === 'ongoing'
        ? 'ongoing-request="true"'
        : a.restore === 'done'
          ? `ongoing-request="false", expiry-date="${new Date(Date.now() + 3 * 86_400_000).toUTCString()}"`
          : undefined;
    return this.forward(req, res, { 'x-amz-storage-class': a.cls, ...(restore ? { 'x-amz-restore': restore } : {}) });
  }

  private async restoreObject(req: IncomingMessage, res: ServerResponse, object: string, a: Archived): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString();
    const days = Number(/<Days>(\d+)<\/Days>/.exec(body)?.[1] ?? NaN);
    const tier = /<Tier>(\w+)<\/Tier>/.exec(body)?.[1] ?? '(none)';
    this.restoreRequests.push({ key: object, days, tier });
    if (a.restore === 'ongoing')
      return fail(res, 409, 'RestoreAlreadyInProgress', 'Object restore is already in progress');
    const status = a.restore === 'done' ? 200 : 202;
    if (a.restore === 'none') a.restore = 'ongoing';
    res.writeHead(status, { 'x-amz-request-id': 'glacier-proxy', 'content-length': '0' }).end();
  }

  /** Sends the request on to radosgw unchanged; `extra` headers are set on its answer. */
  private forward(req: IncomingMessage, res: ServerResponse, extra: Record<string, string> = {}): Promise<void> {
    return new Promise((resolve, reject) => {
      const up = request(
        {
          host: this.upstream.hostname,
          port: this.upstream.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, { ...answer.headers, ...extra });
          answer.pipe(res);
          answer.once('end', resolve);
          answer.once('error', reject);
        },
      );
      up.once('error', reject);
      req.pipe(up);
    });
  }
}

function fail(res: ServerResponse, status: number, code: string, message: string, storageClass?: string): void {
  const cls = storageClass ? `<StorageClass>${storageClass}</StorageClass>` : '';
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message>${cls}<RequestId>glacier-proxy</RequestId></Error>`;
  res.writeHead(status, {
    'content-type': 'application/xml',
    'content-length': String(Buffer.byteLength(body)),
    'x-amz-request-id': 'glacier-proxy',
  });
  res.end(body);
}
