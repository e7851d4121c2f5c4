// Where text and JSON output go: spinner/progress on a TTY, plain lines otherwise, secrets redacted everywhere.

import chalk, { Chalk, type ChalkInstance } from 'chalk';
import ora, { type Ora } from 'ora';
import type { Reporter } from '../app/reporter.js';
import { formatBytes, formatDuration, formatRate } from './format.js';

/** Colour sequences (kept), or any other control character except newline and tab (escaped). */
// eslint-disable-next-line no-control-regex
const CONTROL = /\x1b\[[0-9;]*m|[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;

export interface OutputOptions {
  json: boolean;
  quiet: boolean;
  color: boolean;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  secrets: Set<string>;
  /** A person is watching (TTY, not CI): spinners instead of plain lines. */
  interactive: boolean;
}

const PLAIN_PROGRESS_EVERY_MS = 10_000;

export class Output implements Reporter {
  readonly c: ChalkInstance;
  private spinner: Ora | undefined;
  private stepText = '';
  private stepStarted = 0;
  private lastPlain = 0;
  private readonly interactive: boolean;

  constructor(readonly opts: OutputOptions) {
    this.c = opts.color ? chalk : new Chalk({ level: 0 });
    this.interactive = opts.interactive && !opts.quiet && !opts.json;
  }

  /**
   * Secrets become ***, and control characters (stored keys and lock holders can carry any) are shown escaped, so a
   * crafted object name cannot move the cursor, clear the screen or hide lines of a dry run. Colour codes (SGR) stay.
   */
  redact(text: string): string {
    let out = text;
    for (const s of this.opts.secrets) if (s.length >= 3) out = out.split(s).join('***');
    // eslint-disable-next-line no-control-regex -- matching the escape character is the point
    return out.replace(CONTROL, (c) => (/^\x1b\[[0-9;]*m$/.test(c) ? c : JSON.stringify(c).slice(1, -1)));
  }

  step(message: string): void {
    this.finishStep();
    this.stepText = this.redact(message);
    this.stepStarted = Date.now();
    this.lastPlain = this.stepStarted;
    if (this.opts.quiet) return;
    if (this.interactive) this.spinner = ora({ text: this.stepText, stream: this.opts.stderr }).start();
    else this.opts.stderr.write(`${this.c.dim('>')} ${this.stepText}\n`);
  }

  progress(bytes: number, total?: number): void {
    if (this.opts.quiet || !this.stepStarted) return;
    const elapsed = Date.now() - this.stepStarted;
    const rate = elapsed > 0 ? (bytes / elapsed) * 1000 : 0;
    const pct = total ? ` (${Math.min(100, Math.floor((bytes / total) * 100))}%)` : '';
    const line = `${formatBytes(bytes)}${pct} · ${formatRate(rate)} · ${formatDuration(elapsed)}`;
    if (this.spinner) this.spinner.text = `${this.stepText} ${this.c.dim(line)}`;
    else if (Date.now() - this.lastPlain >= PLAIN_PROGRESS_EVERY_MS) {
      this.lastPlain = Date.now();
      this.opts.stderr.write(`  ${line}\n`);
    }
  }

  warn(message: string): void {
    this.pauseSpinner();
    this.opts.stderr.write(`${this.c.yellow('warning:')} ${this.redact(message)}\n`);
    this.spinner?.start();
  }

  /** Final human text on stdout (not in JSON mode). */
  text(message: string): void {
    this.finishStep();
    if (!this.opts.json && !this.opts.quiet) this.opts.stdout.write(`${this.redact(message)}\n`);
  }

  /** Whether a JSON result was already written (an error after it must not add a second document). */
  jsonWritten = false;

  /** The machine-readable result on stdout (JSON mode only). */
  json(value: unknown): void {
    this.finishStep();
    if (!this.opts.json) return;
    this.opts.stdout.write(`${this.redact(JSON.stringify(value, null, 2))}\n`);
    this.jsonWritten = true;
  }

  error(message: string, hint?: string): void {
    this.finishStep(false);
    this.opts.stderr.write(`${this.c.red('error:')} ${this.redact(message)}\n`);
    if (hint) this.opts.stderr.write(`${this.c.cyan('hint:')} ${this.redact(hint)}\n`);
  }

  finishStep(ok = true): void {
    if (this.spinner) {
      if (ok) this.spinner.succeed();
      else this.spinner.fail();
      this.spinner = undefined;
    }
  }

  private pauseSpinner(): void {
    this.spinner?.stop();
  }
}
