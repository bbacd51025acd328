import type { Context } from 'hono';
import type { ConsoleSession } from '../console-sessions/session.service.js';
import type { ConsoleLocale, Strings } from './strings.js';

export type ConsoleEnv = {
  Variables: {
    locale: ConsoleLocale;
    t: Strings;
    /** Set on every page behind the sign-in (requireSession). */
    session: ConsoleSession;
    /** The form fields of a POST, read once (the CSRF check needs them first). */
    form: Record<string, string>;
  };
};

export type ConsoleContext = Context<ConsoleEnv>;

/** Where the console lives on the API's app. */
export const BASE = '/console';
