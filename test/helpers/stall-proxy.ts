// A small TCP proxy in front of the test S3 that stalls chosen requests: only the tests that point an env at it are
// affected. It follows HTTP/1.1 framing (Content-Length; the SDK neither pipelines nor sends chunked bodies here),
// so a rule applies to one request on a keep-alive connection, not to the whole connection.

import { connect, createServer, type Server, type Socket } from 'node:net';

export interface StallRule {
  /** Matched against "METHOD /path?query" of each request. */
  match: RegExp;
  /**
   * stall: the request is swallowed, nothing answers it. hold: it is forwarded upstream (the server acts on it) and
   * the response is held back for good. cut: the response is forwarded for `afterBytes` bytes, then held.
   * delay: the response is held for `ms`, then delivered.
   */
  action: 'stall' | 'hold' | 'cut' | 'delay';
  afterBytes?: number;
  ms?: number;
  /** Apply to the first N matching requests only (default: all). */
  times?: number;
}

interface Armed extends StallRule {
  used: number;
  caught: Promise<string>;
  resolve: (line: string) => void;
}

export class StallProxy {
  /** Request lines seen, in order ("PUT /bucket/key?partNumber=2&uploadId=..."). */
  readonly seen: string[] = [];
  private readonly rules: Armed[];

  private constructor(
    private readonly server: Server,
    readonly endpoint: string,
    rules: StallRule[],
  ) {
    this.rules = [];
    for (const r of rules) this.add(r);
  }

  /** Adds a rule (checked after the earlier ones); returns its index for caught(). */
  add(rule: StallRule): number {
    let resolve!: (line: string) => void;
    const caught = new Promise<string>((res) => (resolve = res));
    return this.rules.push({ ...rule, used: 0, caught, resolve }) - 1;
  }

  /** Listens on a free loopback port and forwards to `upstream` (http://127.0.0.1:PORT). */
  static async start(upstream: string, rules: StallRule[]): Promise<StallProxy> {
    const target = new URL(upstream);
    const sockets = new Set<Socket>();
    // eslint-disable-next-line prefer-const -- assigned once the server listens, used by its connection handler
    let proxy!: StallProxy;
    const server = createServer((client) => {
      sockets.add(client);
      client.once('close', () => sockets.delete(client));
      proxy.handle(client, Number(target.port), target.hostname);
    });
    server.on('close', () => {
      for (const s of sockets) s.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const addr = server.address();
    if (!addr || typeof addr === 'string') throw new Error('proxy has no port');
    proxy = new StallProxy(server, `http://127.0.0.1:${addr.port}`, rules);
    return proxy;
  }

  /** Resolves with the request line once rule `index` acted (hold: once the server's answer arrived and was held). */
  caught(index: number, timeoutMs = 60_000): Promise<string> {
    const rule = this.rules[index];
    if (!rule) throw new Error(`no rule ${index}`);
    return Promise.race([
      rule.caught,
      new Promise<string>((_, reject) =>
        setTimeout(
          () =>
            reject(
              new Error(`rule ${index} (${String(rule.match)}) never caught a request; seen:\n${this.seen.join('\n')}`),
            ),
          timeoutMs,
        ).unref(),
      ),
    ]);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The rule for a request line, counted as used; undefined when none applies. */
  pick(line: string): Armed | undefined {
    this.seen.push(line);
    const rule = this.rules.find((r) => r.match.test(line) && r.used < (r.times ?? Infinity));
    if (rule) rule.used++;
    return rule;
  }

  private handle(client: Socket, port: number, host: string): void {
    new Connection(this, client, connect(port, host));
  }
}

type Mode =
  | { kind: 'pass' }
  | { kind: 'hold' | 'cut'; left: number; rule: Armed; line: string }
  | { kind: 'delay'; queue: Buffer[] };

/** One client connection: requests parsed in order (no pipelining: the server's bytes answer the last one sent). */
class Connection {
  private buf = Buffer.alloc(0);
  private bodyLeft = 0;
  private current: { rule: Armed | undefined; line: string } | undefined;
  private swallow = false;
  private mode: Mode = { kind: 'pass' };

  constructor(
    private readonly proxy: StallProxy,
    private readonly client: Socket,
    private readonly upstream: Socket,
  ) {
    client.on('data', (chunk: Buffer) => {
      if (this.swallow) return;
      this.buf = Buffer.concat([this.buf, chunk]);
      this.fromClient();
    });
    upstream.on('data', (chunk: Buffer) => this.fromUpstream(chunk));
    client.on('close', () => upstream.destroy());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    upstream.on('end', () => {
      if (this.mode.kind === 'pass') client.end();
    });
  }

  private fromClient(): void {
    while (this.buf.length > 0 && !this.swallow) {
      if (this.bodyLeft > 0) {
        const n = Math.min(this.bodyLeft, this.buf.length);
        this.upstream.write(this.buf.subarray(0, n));
        this.buf = this.buf.subarray(n);
        this.bodyLeft -= n;
        if (this.bodyLeft === 0) this.sent();
        continue;
      }
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = this.buf.subarray(0, end + 4).toString('latin1');
      const line = head.slice(0, head.indexOf('\r\n')).replace(/ HTTP\/1\.[01]$/, '');
      if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
        this.proxy.seen.push(`UNSUPPORTED chunked body: ${line}`); // framing would be lost: drop the connection, visibly
        return void this.client.destroy();
      }
      const rule = this.proxy.pick(line);
      if (rule?.action === 'stall') {
        this.swallow = true;
        return rule.resolve(line);
      }
      this.upstream.write(this.buf.subarray(0, end + 4));
      this.buf = this.buf.subarray(end + 4);
      this.bodyLeft = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
      this.current = { rule, line };
      if (this.bodyLeft === 0) this.sent();
    }
  }

  /** The whole request went upstream: what its rule does with the answer starts now. */
  private sent(): void {
    const c = this.current;
    this.current = undefined;
    if (!c?.rule) return void (this.mode = { kind: 'pass' });
    const { rule, line } = c;
    if (rule.action === 'hold' || rule.action === 'cut') {
      this.mode = { kind: rule.action, left: rule.action === 'cut' ? (rule.afterBytes ?? 0) : 0, rule, line };
      return;
    }
    const queue: Buffer[] = [];
    this.mode = { kind: 'delay', queue };
    rule.resolve(line);
    setTimeout(() => {
      for (const b of queue) this.client.write(b);
      this.mode = { kind: 'pass' };
    }, rule.ms ?? 1000);
  }

  private fromUpstream(chunk: Buffer): void {
    const m = this.mode;
    if (m.kind === 'pass') return void this.client.write(chunk);
    if (m.kind === 'delay') return void m.queue.push(chunk);
    const pass = chunk.subarray(0, Math.max(0, m.left));
    if (pass.length) this.client.write(pass);
    m.left -= pass.length;
    if (m.left <= 0) m.rule.resolve(m.line); // held: the server answered (its bytes are dropped from here on)
  }
}
