/** A pino-compatible logger: each level takes an optional bindings object, then a message. */
export interface LogFn {
  (obj: object, msg?: string): void;
  (msg: string): void;
}
export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  child?(bindings: Record<string, unknown>): Logger;
}

const noop = (): void => {};
/** Silent by default: a library does not write to stdout unless asked. */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

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
