import { pino, type Logger } from 'pino';

export type { Logger };

/** One logger. Secrets are redacted by path as a second line of defence: we never log them. */
export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({
    level,
    redact: {
      paths: ['password', 'token', '*.password', '*.token', 'headers.authorization', 'req.headers.authorization', 'link', '*.link'],
      censor: '[redacted]',
    },
  });
}
