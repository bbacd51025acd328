import { DomainError } from '../errors.js';

/**
 * `X-Actor` names the staff member acting, for the audit trail. HTTP header values are bytes;
 * Node hands them over as Latin-1, so a name sent as raw UTF-8 arrived as `jÃ¼rgen`. Accepted:
 *
 *   X-Actor: staff:anna                    plain ASCII, as before
 *   X-Actor: j%C3%BCrgen                   UTF-8, percent-encoded (a literal % is written %25)
 *   X-Actor*: UTF-8''j%C3%BCrgen           RFC 8187 extended value; wins over X-Actor
 *   X-Actor: jürgen (raw UTF-8 bytes)      read as UTF-8 when the bytes are valid UTF-8
 *
 * Anything that is not valid UTF-8 after decoding is a 422 rather than a garbled name.
 * `system` is reserved: it is how the audit trail and webhooks name the service itself
 * (expiry, midnight), so staff cannot make a change look like the service's own.
 */
export const RESERVED_ACTORS = ['system'] as const;

const invalid = (header: string, message: string) =>
  new DomainError('ValidationFailed', `The ${header} header ${message}.`, { errors: [{ field: `header/${header}`, message }] });

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Latin-1 code units back to bytes, then strict UTF-8. */
function fromRawBytes(value: string, header: string): string {
  // Characters above U+00FF cannot come from the wire; a caller inside the process already has text.
  if ([...value].some((ch) => ch.codePointAt(0)! > 0xff)) return value;
  try {
    return utf8.decode(Buffer.from(value, 'latin1'));
  } catch {
    throw invalid(header, 'must be UTF-8 (percent-encode it: X-Actor: j%C3%BCrgen)');
  }
}

function percentDecoded(value: string, header: string): string {
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    throw invalid(header, 'has a malformed percent-encoding (UTF-8 bytes as %XX; a literal % is %25)');
  }
}

/** RFC 8187: charset'language'value-chars; only UTF-8 is accepted. */
function extendedValue(value: string): string {
  const match = /^([A-Za-z0-9!#$&+^`{}~-]+)'[A-Za-z0-9-]*'(.*)$/.exec(value.trim());
  if (!match || match[1]!.toLowerCase() !== 'utf-8') throw invalid('X-Actor*', "must be UTF-8''<percent-encoded name> (RFC 8187)");
  return percentDecoded(match[2]!, 'X-Actor*');
}

/** The actor a request names, or undefined when it names none. Control characters removed, at most 200 characters kept. */
export function actorFromHeaders(plain: string | undefined, extended: string | undefined): string | undefined {
  const decoded = extended !== undefined ? extendedValue(extended) : plain !== undefined ? percentDecoded(fromRawBytes(plain, 'X-Actor'), 'X-Actor') : undefined;
  const actor = decoded?.normalize('NFC').replace(/[\p{C}]/gu, '').trim().slice(0, 200);
  if (!actor) return undefined;
  const header = extended !== undefined ? 'X-Actor*' : 'X-Actor';
  // NFKC and case folding: `SYSTEM` and fullwidth `ｓｙｓｔｅｍ` read as `system` in a trail.
  if ((RESERVED_ACTORS as readonly string[]).includes(actor.normalize('NFKC').toLowerCase())) {
    throw invalid(header, `may not be "${actor}": the name is reserved for the service itself`);
  }
  return actor;
}
