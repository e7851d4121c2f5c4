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
      new Promise<string>((_, reject) => setTimeout(() => reject(new Error(`rule ${index} (${String(rule.match)}) never caught a request; seen:\n${this.seen.join('\n')}`)), timeoutMs).unref()),
    ]);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private pick(line: string): Armed | undefined {
    const rule = this.rules.find((r) => r.match.test(line) && r.used < (r.times ?? Infinity));
    if (rule) rule.used++;
    return rule;
  }

  private handle(client: Socket, port: number, host: string): void {
    const upstream = connect(port, host);
    let buf = Buffer.alloc(0);
    let bodyLeft = 0;
    let current: { rule: Armed | undefined; line: string } | undefined;
    let swallow = false;
    // What happens to the server's bytes for the request last sent (no pipelining: they belong to it).
    let mode: { kind: 'pass' } | { kind: 'hold'; rule: Armed; line: string } | { kind: 'cut'; left: number; rule: Armed; line: string } | { kind: 'delay'; queue: Buffer[] } = { kind: 'pass' };

    const sent = (): void => {
      const c = current;
      current = undefined;
      if (!c?.rule) return void (mode = { kind: 'pass' });
      const { rule, line } = c;
      if (rule.action === 'hold') mode = { kind: 'hold', rule, line };
      else if (rule.action === 'cut') mode = { kind: 'cut', left: rule.afterBytes ?? 0, rule, line };
      else if (rule.action === 'delay') {
        const queue: Buffer[] = [];
        mode = { kind: 'delay', queue };
        rule.resolve(line);
        setTimeout(() => {
          for (const b of queue) client.write(b);
          mode = { kind: 'pass' };
        }, rule.ms ?? 1000);
      }
    };
    const fromClient = (): void => {
      while (buf.length > 0 && !swallow) {
        if (bodyLeft > 0) {
          const n = Math.min(bodyLeft, buf.length);
          upstream.write(buf.subarray(0, n));
          buf = buf.subarray(n);
          bodyLeft -= n;
          if (bodyLeft === 0) sent();
          continue;
        }
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end + 4).toString('latin1');
        const line = head.slice(0, head.indexOf('\r\n')).replace(/ HTTP\/1\.[01]$/, '');
        this.seen.push(line);
        if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
          this.seen.push(`UNSUPPORTED chunked body: ${line}`); // framing would be lost: drop the connection, visibly
          client.destroy();
          return;
        }
        const rule = this.pick(line);
        if (rule?.action === 'stall') {
          swallow = true;
          rule.resolve(line);
          return;
        }
        upstream.write(buf.subarray(0, end + 4));
        buf = buf.subarray(end + 4);
        bodyLeft = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
        current = { rule, line };
        if (bodyLeft === 0) sent();
      }
    };
    client.on('data', (chunk: Buffer) => {
      if (swallow) return;
      buf = Buffer.concat([buf, chunk]);
      fromClient();
    });
    upstream.on('data', (chunk: Buffer) => {
      if (mode.kind === 'pass') return void client.write(chunk);
      if (mode.kind === 'delay') return void mode.queue.push(chunk);
      if (mode.kind === 'hold') return mode.rule.resolve(mode.line);
      const pass = chunk.subarray(0, Math.max(0, mode.left));
      if (pass.length) client.write(pass);
      mode.left -= pass.length;
      if (mode.left <= 0) mode.rule.resolve(mode.line);
    });
    client.on('close', () => upstream.destroy());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    upstream.on('end', () => {
      if (mode.kind === 'pass') client.end();
    });
  }
}
