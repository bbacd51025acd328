import type { FieldError } from '../errors.js';
import { linkVariable, type TemplateType } from './variables.js';

/**
 * Where a template may send its reader (issue 15.6): the service's own origin
 * (PUBLIC_BASE_URL) and the hosts an operator listed (TEMPLATE_LINK_HOSTS). A mail from us
 * whose button goes elsewhere is a phishing mail with our name on it, however it is spelled.
 */
export interface LinkTargets {
  /** PUBLIC_BASE_URL's origin, e.g. `https://invite.example.com`. */
  origin: string;
  /** Host names (lower case, IDNA), any scheme and port. */
  hosts: readonly string[];
}

const MAX_SHOWN = 200;
const shownLink = (link: string) => (link.length > MAX_SHOWN ? `${link.slice(0, MAX_SHOWN)}…` : link);

// What sanitize-html writes back escaped; a link is judged as the mail client will read it.
const decodeEntities = (text: string) => text.replace(/&(amp|quot|lt|gt|#39);/g, (_, name: string) => ({ amp: '&', quot: '"', lt: '<', gt: '>', '#39': "'" })[name]!);

// The body is already sanitised: tags carry only their allowed attributes, values in double
// quotes with `<`, `>` and `"` escaped, so these patterns see every href (and stay linear).
const TAG = /<[^<>]*>/g;
const HREF = /\shref="([^"]*)"/g;
// What mail clients turn into a link on their own: a URL or a www. name written as text.
const TEXT_LINK = /\b(?:https?:\/\/|www\.)[^\s<>"']+/gi;

/** `https://x.example/a.` in a sentence links to `https://x.example/a`, as mail clients read it. (A loop: `/[.,]+$/` is quadratic.) */
function withoutClosingPunctuation(link: string): string {
  let end = link.length;
  while (end > 0 && '.,;:!?)'.includes(link[end - 1]!)) end--;
  return link.slice(0, end);
}

function problemWith(link: string, targets: LinkTargets): string | null {
  let url: URL;
  try {
    url = new URL(link.toLowerCase().startsWith('www.') ? `http://${link}` : link);
  } catch {
    return `"${shownLink(link)}" is not an absolute link: links in a mail need a scheme and a host`;
  }
  const allowed =
    url.protocol === 'mailto:'
      ? mailtoDomains(url).every((domain) => domain === new URL(targets.origin).hostname || targets.hosts.includes(domain))
      : url.origin === targets.origin || targets.hosts.includes(url.hostname);
  return allowed ? null : `links may go only to ${described(targets)}; not to "${shownLink(link)}"`;
}

/**
 * The domains a mailto: link writes to (RFC 6068: the path and the to, cc and bcc fields, each
 * a list). An address counts as a host of its domain: the reader's answer goes where the
 * operator allows links. None at all (`mailto:?body=…`) is refused too: the reader picks one.
 */
function mailtoDomains(url: URL): string[] {
  const lists = [url.pathname, ...['to', 'cc', 'bcc'].flatMap((field) => url.searchParams.getAll(field))];
  let addresses: string[];
  try {
    addresses = lists.flatMap((list) => decodeURIComponent(list).split(',')).map((a) => a.trim()).filter(Boolean);
  } catch {
    return [''];
  }
  return addresses.length ? addresses.map((address) => address.slice(address.lastIndexOf('@') + 1).toLowerCase()) : [''];
}

const described = (targets: LinkTargets) =>
  targets.hosts.length ? `${targets.origin} and the hosts of TEMPLATE_LINK_HOSTS (${targets.hosts.join(', ')})` : `${targets.origin} (more hosts with TEMPLATE_LINK_HOSTS)`;

/**
 * Every link of a sanitised body (each href, and each URL written as text, which mail clients
 * make clickable) and of the subject that leads anywhere but `targets`, one problem each,
 * naming the link. The personal link variable is the service's own link.
 */
export function foreignLinkProblems(type: TemplateType, content: { subject: string; body: string }, targets: LinkTargets): FieldError[] {
  const own = `{{${linkVariable[type]}}}`;
  const problems: FieldError[] = [];
  const seen = new Set<string>();
  const check = (field: string, link: string) => {
    if (link.trim() === own || seen.has(`${field} ${link}`)) return;
    seen.add(`${field} ${link}`);
    const problem = problemWith(link, targets);
    if (problem) problems.push({ field, message: problem });
  };
  for (const tag of content.body.match(TAG) ?? []) {
    // An href with another variable in it is refused by the placement rules (variables.ts).
    for (const [, href] of tag.matchAll(HREF)) if (!href!.includes('{{') || href!.trim() === own) check('body', decodeEntities(href!));
  }
  for (const text of content.body.split(TAG)) {
    for (const [link] of decodeEntities(text).matchAll(TEXT_LINK)) check('body', withoutClosingPunctuation(link));
  }
  for (const [link] of content.subject.matchAll(TEXT_LINK)) check('subject', withoutClosingPunctuation(link));
  return problems;
}
