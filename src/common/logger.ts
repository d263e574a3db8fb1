/** A pino-compatible logger: each level takes an optional bindings object, then a message. */
export interface LogFn {
  (obj: object, msg?: string): void;
  (msg: string): void;
}
/** The logger ts-kcl writes to: pino's shape, so a pino logger fits as it is. */
export interface Logger {
  /** Detail for debugging (dropped by the default logger). */
  debug: LogFn;
  /** Normal events: leases taken, shards ended (dropped by the default logger). */
  info: LogFn;
  /** A failure that is retried, or a setting that was adjusted. */
  warn: LogFn;
  /** A failure that needs attention. */
  error: LogFn;
  /** A logger that adds `bindings` to every line (e.g. the shard id); optional. */
  child?(bindings: Record<string, unknown>): Logger;
}

const noop = (): void => {};
/** Drops everything: for callers that really want silence (pass it as `logger`). */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

/**
 * The logger when none is given: warnings and errors reach stderr as one readable line each (a lost
 * lease, a processor that throws, a stalled shard must never be silent); debug and info are dropped.
 * Any pino-compatible logger replaces it.
 */
export function stderrLogger(write: (line: string) => void = (line) => process.stderr.write(line + '\n'), bindings: Record<string, unknown> = {}): Logger {
  const make =
    (level: 'WARN' | 'ERROR'): LogFn =>
    (objOrMsg: object | string, msg?: string) => {
      const fields: Record<string, unknown> = { ...bindings, ...(typeof objOrMsg === 'string' ? {} : objOrMsg) };
      write(formatLine(level, typeof objOrMsg === 'string' ? objOrMsg : (msg ?? ''), fields));
    };
  return { debug: noop, info: noop, warn: make('WARN'), error: make('ERROR'), child: (more) => stderrLogger(write, { ...bindings, ...more }) };
}

/** `2026-12-01T10:00:00.000Z WARN ts-kcl: message (shardId=..., err=Name: message)` */
function formatLine(level: string, msg: string, fields: Record<string, unknown>): string {
  const { err, ...rest } = fields;
  const context = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  if (err && typeof err === 'object') {
    const e = err as { name?: string; message?: string };
    context.push(`err=${e.name ?? 'Error'}: ${e.message ?? ''}`);
  }
  return `${new Date().toISOString()} ${level} ts-kcl: ${msg}${context.length > 0 ? ` (${context.join(', ')})` : ''}`;
}

/** A child logger when the logger supports it, else one that merges the bindings itself. */
export function childLogger(logger: Logger, bindings: Record<string, unknown>): Logger {
  if (logger === silentLogger) return logger;
  if (typeof logger.child === 'function') return logger.child(bindings);
  const wrap =
    (fn: LogFn): LogFn =>
    (objOrMsg: object | string, msg?: string) => {
      if (typeof objOrMsg === 'string') fn({ ...bindings }, objOrMsg);
      else fn({ ...bindings, ...objOrMsg }, msg);
    };
  return {
    debug: wrap(logger.debug.bind(logger)),
    info: wrap(logger.info.bind(logger)),
    warn: wrap(logger.warn.bind(logger)),
    error: wrap(logger.error.bind(logger)),
    child: (more) => childLogger(logger, { ...bindings, ...more }),
  };
}

/** Errors as plain objects for structured logs: name, message, code; never request or credential details. */
export function errorFields(err: unknown): { err: { name: string; message: string; code?: string } } {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { err: { name: err.name, message: err.message, ...(typeof code === 'string' ? { code } : {}) } };
  }
  return { err: { name: 'NonError', message: String(err) } };
}

/**
 * A small JSON-lines logger for the CLI and demo (pino-shaped, no dependency).
 * Levels below `level` are dropped.
 */
export function consoleLogger(
  level: 'debug' | 'info' | 'warn' | 'error' = 'info',
  write: (line: string) => void = (line) => process.stderr.write(line + '\n'),
  bindings: Record<string, unknown> = {},
): Logger {
  const order = { debug: 10, info: 20, warn: 30, error: 40 } as const;
  const make =
    (name: keyof typeof order): LogFn =>
    (objOrMsg: object | string, msg?: string) => {
      if (order[name] < order[level]) return;
      const fields = typeof objOrMsg === 'string' ? {} : objOrMsg;
      const text = typeof objOrMsg === 'string' ? objOrMsg : msg;
      write(JSON.stringify({ time: new Date().toISOString(), level: name, ...bindings, ...fields, msg: text }));
    };
  return {
    debug: make('debug'),
    info: make('info'),
    warn: make('warn'),
    error: make('error'),
    child: (more) => consoleLogger(level, write, { ...bindings, ...more }),
  };
}
