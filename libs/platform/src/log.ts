/**
 * The worker's log: one JSON object per line when stdout is not a terminal (for collectors), a short
 * human line when it is. Quiet by design: state changes and failures, never one line per batch.
 */
export type LogLevel = 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Log {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

/** bigints and errors have no JSON form of their own. */
function plain(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) return value.message;
  return value;
}

export function createLog(
  service: string,
  {
    json = !process.stdout.isTTY,
    write = defaultWrite,
  }: { json?: boolean; write?: (level: LogLevel, line: string) => void } = {},
): Log {
  const emit = (level: LogLevel, message: string, fields: LogFields = {}): void => {
    if (json) {
      const line = JSON.stringify(
        { time: new Date().toISOString(), level, service, msg: message, ...fields },
        (_key, v) => plain(v),
      );
      write(level, line);
      return;
    }
    const extras = Object.entries(fields)
      .map(([key, value]) => `${key}=${String(plain(value))}`)
      .join(' ');
    const time = new Date().toISOString().slice(11, 19);
    write(
      level,
      `${time} ${service} ${level === 'info' ? '' : `${level.toUpperCase()} `}${message}${extras ? ` ${extras}` : ''}`,
    );
  };
  return {
    info: (message, fields) => emit('info', message, fields),
    warn: (message, fields) => emit('warn', message, fields),
    error: (message, fields) => emit('error', message, fields),
  };
}

function defaultWrite(level: LogLevel, line: string): void {
  (level === 'error' ? process.stderr : process.stdout).write(`${line}\n`);
}

/** A log that says nothing (tests). */
export const silentLog: Log = { info: () => undefined, warn: () => undefined, error: () => undefined };
