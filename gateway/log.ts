import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';
import { ConfigError } from './secrets.js';

export type { Logger };

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFormat = 'json' | 'pretty';

export interface LogConfig {
  level: LogLevel;
  /** Unset: pretty when stdout is a terminal, JSON lines otherwise. */
  format: LogFormat | undefined;
}

/** SHARDGATE_LOG_LEVEL and SHARDGATE_LOG_FORMAT, checked at start like every other setting. */
export function logConfig(env: NodeJS.ProcessEnv): LogConfig {
  const level = (env.SHARDGATE_LOG_LEVEL || 'info').trim().toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new ConfigError(`SHARDGATE_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${env.SHARDGATE_LOG_LEVEL}"`);
  }
  const format = env.SHARDGATE_LOG_FORMAT?.trim().toLowerCase() || undefined;
  if (format !== undefined && format !== 'json' && format !== 'pretty') {
    throw new ConfigError(`SHARDGATE_LOG_FORMAT must be json or pretty, got "${env.SHARDGATE_LOG_FORMAT}"`);
  }
  return { level: level as LogLevel, format };
}

/**
 * Log lines waiting for stdout beyond this are dropped (and counted), not kept: a reader that
 * stopped reading (a full pipe, a paused terminal) must cost bounded memory, not all of it.
 */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;
/**
 * Lines are written once this much is waiting, or LOG_FLUSH_MS after the last write. One
 * write per access line was 2-4% of the gateway's CPU under small requests (a write call per
 * line, each waking a threadpool thread); the bound keeps a line from waiting longer than
 * a person at `tail -f` would notice.
 */
const MIN_WRITE_BYTES = 8 * 1024;
const LOG_FLUSH_MS = 200;

export interface GatewayLog {
  logger: Logger;
  /** Lines dropped because stdout did not keep up. */
  dropped: () => number;
  /** Writes out what is buffered, synchronously: at shutdown, before the process exits. */
  flush(): void;
}

/**
 * The gateway's structured log on stdout. Lines are written asynchronously (the request path
 * never waits for the terminal or the pipe) from a bounded buffer. Pretty-printing runs in
 * this process, not in a worker thread: it is for a person at a terminal, where rates are low.
 * The banner and other human-facing lines stay plain `console.log`: each log line is one
 * complete line, so line-based readers of stdout see both intact.
 */
export function createGatewayLog(cfg: LogConfig, stdoutIsTty: boolean = process.stdout.isTTY === true): GatewayLog {
  const dest = pino.destination({ dest: 1, sync: false, maxLength: MAX_BUFFERED_BYTES, minLength: MIN_WRITE_BYTES });
  // Not sonic-boom's periodicFlush: that writes (nothing) on every tick of an idle gateway.
  let unflushed = false;
  setInterval(() => {
    if (!unflushed) return;
    unflushed = false;
    try {
      dest.flush();
    } catch {
      // Destroyed at shutdown: nothing is left to write.
    }
  }, LOG_FLUSH_MS).unref();
  let dropped = 0;
  dest.on('drop', (data: unknown) => {
    dropped += typeof data === 'string' ? Math.max(1, data.split('\n').length - 1) : 1;
  });
  const format = cfg.format ?? (stdoutIsTty ? 'pretty' : 'json');
  const stream = format === 'pretty'
    ? pretty({
      destination: dest, colorize: stdoutIsTty, translateTime: 'SYS:HH:MM:ss.l', singleLine: true,
      ignore: ['pid', 'hostname', ...ACCESS_FIELDS].join(','), messageFormat: prettyMessage,
    })
    : dest;
  const logger = pino({
    level: cfg.level,
    // No pid or hostname on every line: one process, one host, known to whoever collects the log.
    base: null,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    // Lines are built from chosen fields (access-log.ts), never from whole headers or URLs;
    // this is the second fence, for an object logged whole by mistake.
    redact: { paths: REDACT_PATHS, censor: '<redacted>' },
    hooks: {
      streamWrite: (line) => {
        unflushed = true;
        return line;
      },
    },
  }, stream);
  return {
    logger,
    dropped: () => dropped,
    flush: () => {
      try {
        dest.flushSync();
      } catch {
        // stdout is gone (a closed pipe): nothing left to write to.
      }
    },
  };
}

/**
 * Fields of an access line (access-log.ts) that the pretty format puts into its message. pino-pretty
 * hides ignored fields on every line: other lines should not use these names (JSON keeps all).
 */
const ACCESS_FIELDS = ['req_id', 'operation', 'bucket', 'key', 'path', 'status', 'error', 'aborted', 'bytes_in', 'bytes_out', 'duration_ms', 'user'];

/** An access line for a person: `PutObject photos/cat.jpg 200 in=70000 out=0 12.3ms user=AK... id=...`. */
export function prettyMessage(log: Record<string, unknown>, messageKey: string): string {
  if (log[messageKey] !== 'request') return String(log[messageKey] ?? '');
  const target = log.bucket === undefined ? String(log.path ?? '') : `${String(log.bucket)}${log.key === undefined ? '' : `/${String(log.key)}`}`;
  const error = log.error === undefined ? '' : ` ${String(log.error)}`;
  const aborted = log.aborted ? ' (aborted)' : '';
  return `${String(log.operation)} ${target} ${String(log.status)}${error}${aborted} in=${String(log.bytes_in)} out=${String(log.bytes_out)} `
    + `${String(log.duration_ms)}ms user=${String(log.user)} id=${String(log.req_id)}`;
}

const SECRET_HEADERS = [
  'authorization', 'x-amz-security-token',
  'x-amz-server-side-encryption-customer-key', 'x-amz-server-side-encryption-customer-key-md5',
  'x-amz-copy-source-server-side-encryption-customer-key', 'x-amz-copy-source-server-side-encryption-customer-key-md5',
];

const REDACT_PATHS = [
  ...SECRET_HEADERS.flatMap((h) => [`headers["${h}"]`, `req.headers["${h}"]`]),
  'secret', 'secretAccessKey', 'password', 'token',
];
