import { appendFileSync, closeSync, fsyncSync, mkdirSync, openSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import Database from 'better-sqlite3';
import type { AuditEvent, Logger } from '../kernel/index.js';
import { AUDIT_DB_FILE } from './audit-schema.js';
import { formatCef, formatOcsf } from './export-formats.js';

/** A live copy of the log for a SIEM. `name` keys its delivery cursor: keep it stable. */
export type LiveSinkSpec =
  | { readonly type: 'file'; readonly name: string; readonly format: 'ocsf' | 'cef'; readonly path: string }
  | { readonly type: 'webhook'; readonly name: string; readonly format: 'ocsf' | 'cef'; readonly url: string; readonly ca?: string }
  | { readonly type: 'syslog'; readonly name: string; readonly format: 'ocsf' | 'cef'; readonly host: string; readonly port: number; readonly tls: boolean; readonly ca?: string };

/** Options of {@link startSinkDelivery}. */
export interface SinkDeliveryOptions {
  readonly stateDir: string;
  readonly sinks: readonly LiveSinkSpec[];
  readonly logger: Logger;
  /** How often an idle sink looks for new events. Default 500 ms. */
  readonly pollMs?: number;
  /** Longest wait between retries of a failing sink. Default 30 s. */
  readonly maxBackoffMs?: number;
  readonly version: string;
}

const BATCH = 500;
const TIMEOUT_MS = 10_000;

function line(spec: LiveSinkSpec, seq: number, event: AuditEvent, version: string): string {
  return spec.format === 'cef' ? formatCef(seq, event, version) : JSON.stringify(formatOcsf(seq, event));
}

function deliverFile(spec: Extract<LiveSinkSpec, { type: 'file' }>, lines: readonly string[]): Promise<void> {
  mkdirSync(dirname(spec.path), { recursive: true });
  appendFileSync(spec.path, `${lines.join('\n')}\n`, { mode: 0o600 });
  const fd = openSync(spec.path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return Promise.resolve();
}

function deliverWebhook(spec: Extract<LiveSinkSpec, { type: 'webhook' }>, lines: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const body = Buffer.from(`${lines.join('\n')}\n`);
    const req = httpsRequest(spec.url, { method: 'POST', headers: { 'content-type': spec.format === 'cef' ? 'text/plain' : 'application/x-ndjson', 'content-length': body.length }, timeout: TIMEOUT_MS, ...(spec.ca === undefined ? {} : { ca: spec.ca }) }, (res) => {
      res.resume();
      res.on('error', reject);
      res.on('end', () => ((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300 ? resolve() : reject(new Error(`webhook answered ${res.statusCode ?? 0}`))));
    });
    req.on('timeout', () => req.destroy(new Error('webhook timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

/** RFC 5424 message, framed by octet counting (RFC 6587 §3.4.1, RFC 5425 §4.3). */
function syslogFrame(seq: number, event: AuditEvent, payload: string): string {
  const severity = event.outcome === 'allow' ? 6 : 4;
  const pri = 13 * 8 + severity; // facility 13: log audit
  const host = hostname().replace(/[^\x21-\x7e]/g, '').slice(0, 255) || '-';
  const msg = `<${pri}>1 ${new Date(event.time).toISOString()} ${host} palisade ${process.pid} audit [palisade@32473 seq="${seq}"] ${payload}`;
  return `${Buffer.byteLength(msg)} ${msg}`;
}

function deliverSyslog(spec: Extract<LiveSinkSpec, { type: 'syslog' }>, frames: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    let socket: Socket;
    const done = (error?: Error): void => {
      socket.destroy();
      if (error === undefined) resolve();
      else reject(error);
    };
    const send = (): void => {
      socket.end(frames.join(''), () => undefined);
    };
    socket = spec.tls ? tlsConnect({ host: spec.host, port: spec.port, servername: spec.host, ...(spec.ca === undefined ? {} : { ca: spec.ca }) }, send) : netConnect({ host: spec.host, port: spec.port }, send);
    socket.setTimeout(TIMEOUT_MS, () => done(new Error('syslog receiver timed out')));
    socket.on('error', done);
    // Delivered once the receiver has read everything and closed its side.
    socket.on('close', (hadError) => (hadError ? undefined : done()));
    socket.resume();
  });
}

/**
 * Copies the audit log to live sinks (JSON-lines file, HTTPS webhook, syslog over TCP or TLS),
 * at least once and in order: each sink has a cursor in `audit_sink_cursors`, moved only after a
 * batch was delivered, so the log itself is the disk-backed queue. A sink that is down keeps its
 * cursor and is retried with backoff; nothing is lost while the log keeps its events. Receivers
 * drop duplicates by sequence number (OCSF `metadata.sequence`, CEF `cn1`, syslog `seq`).
 *
 * @example
 * ```ts
 * const delivery = startSinkDelivery({ stateDir, sinks: [{ type: 'file', name: 'siem', format: 'ocsf', path: '/var/log/palisade.jsonl' }], logger, version });
 * ```
 */
export function startSinkDelivery(options: SinkDeliveryOptions): { close(): Promise<void> } {
  const pollMs = options.pollMs ?? 500;
  const maxBackoff = options.maxBackoffMs ?? 30_000;
  let closed = false;
  let db: Database.Database | undefined;
  const wakeups = new Set<() => void>();
  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(t);
        wakeups.delete(wake);
        resolve();
      };
      const t = setTimeout(wake, ms);
      wakeups.add(wake);
    });
  const connection = (): Database.Database => {
    if (db === undefined) {
      db = new Database(join(options.stateDir, AUDIT_DB_FILE), { fileMustExist: true });
      db.pragma('busy_timeout = 5000');
    }
    return db;
  };

  const run = async (spec: LiveSinkSpec): Promise<void> => {
    let backoff = pollMs;
    let failing = false;
    while (!closed) {
      let rows: { seq: number; event: string }[];
      try {
        const c = connection();
        const cursor = (c.prepare('SELECT delivered_seq FROM audit_sink_cursors WHERE sink = ?').pluck().get(spec.name) as number | undefined) ?? 0;
        rows = c.prepare('SELECT seq, event FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?').all(cursor, BATCH) as { seq: number; event: string }[];
      } catch (error) {
        options.logger.warn('audit sink cannot read the log; retrying', { code: 'PAL_AUDIT_UNAVAILABLE', reason: error instanceof Error ? error.message.slice(0, 200) : 'unknown' });
        await sleep(maxBackoff);
        continue;
      }
      if (rows.length === 0) {
        await sleep(pollMs);
        continue;
      }
      try {
        const events = rows.map((r) => ({ seq: r.seq, event: JSON.parse(r.event) as AuditEvent }));
        const lines = events.map((e) => line(spec, e.seq, e.event, options.version));
        if (spec.type === 'file') await deliverFile(spec, lines);
        else if (spec.type === 'webhook') await deliverWebhook(spec, lines);
        else await deliverSyslog(spec, events.map((e, i) => syslogFrame(e.seq, e.event, lines[i] as string)));
        const last = (rows[rows.length - 1] as { seq: number }).seq;
        connection().prepare('INSERT INTO audit_sink_cursors (sink, delivered_seq) VALUES (?, ?) ON CONFLICT (sink) DO UPDATE SET delivered_seq = max(delivered_seq, excluded.delivered_seq)').run(spec.name, last);
        if (failing) options.logger.info(`audit sink \`${spec.name}\` delivering again`, { code: 'PAL_AUDIT_UNAVAILABLE' });
        failing = false;
        backoff = pollMs;
      } catch (error) {
        if (!failing) options.logger.warn(`audit sink \`${spec.name}\` is unreachable; events wait in the log`, { code: 'PAL_AUDIT_UNAVAILABLE', reason: error instanceof Error ? error.message.slice(0, 200) : 'unknown' });
        failing = true;
        await sleep(backoff);
        backoff = Math.min(backoff * 2, maxBackoff);
      }
    }
  };
  const loops = options.sinks.map((s) => run(s));
  return {
    async close() {
      closed = true;
      for (const w of [...wakeups]) w();
      await Promise.all(loops);
      db?.close();
    },
  };
}
