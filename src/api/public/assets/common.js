// What the public pages share: their strings, JSON posts, the 429 sentence, the outcome
// panel, and the whole flow of a token link that ends in a new password (accept, reset).

export const $ = (id) => document.getElementById(id);
export const t = JSON.parse($('strings').textContent);
export const fill = (text, values) => text.replace(/\{(\w+)\}/g, (_, k) => values[k] ?? '');

export const post = (path, body) =>
  fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), credentials: 'same-origin' });

/** "Try again in N minutes", from Retry-After in seconds (an HTTP date is rare enough to say "later"). */
export function tooManyText(res) {
  const seconds = Number(res.headers.get('retry-after'));
  if (!Number.isFinite(seconds) || seconds <= 0) return t.tooManyLater;
  const minutes = Math.ceil(seconds / 60);
  return minutes === 1 ? t.tooManyOne : fill(t.tooMany, { minutes });
}

/** Replaces the form with a result; its heading takes focus so a screen reader announces it. */
export function showOutcome(title, text, { next = '', link = false } = {}) {
  for (const form of document.querySelectorAll('main form')) form.hidden = true;
  $('status').textContent = '';
  $('outcome').hidden = false;
  $('outcome-title').textContent = title;
  $('outcome-text').textContent = text;
  if ($('outcome-next')) $('outcome-next').textContent = next;
  if ($('outcome-link')) $('outcome-link').hidden = !link;
  $('outcome-title').focus();
}

/**
 * A link page: read the token from the fragment (the browser never sends it to the server),
 * ask the API what it belongs to without consuming it, then post it with the new password.
 */
export function passwordLinkPage({ inspectPath, completePath }) {
  const token = new URLSearchParams(location.hash.slice(1)).get('token');
  // Keep the token out of the address bar and history once read.
  history.replaceState(null, '', location.pathname + location.search);

  const gone = () => showOutcome(t.goneTitle, t.gone, { next: t.goneNext, link: true });
  const incomplete = () => showOutcome(t.missingTitle, t.missing);
  const failed = () => showOutcome(t.failed, '');
  // The accept answer may name the platform's next step (an allowed origin, checked by the
  // server); only an http(s) URL becomes a link, never a javascript: or data: one.
  const done = (answer) => {
    showOutcome(t.doneTitle, t.done);
    const next = typeof answer.redirectUrl === 'string' ? new URL(answer.redirectUrl, location.href) : undefined;
    if (!next || !t.continueTo || (next.protocol !== 'https:' && next.protocol !== 'http:')) return;
    const link = $('outcome-continue-link');
    link.href = next.href;
    link.textContent = fill(t.continueTo, { host: next.host });
    $('outcome-continue').hidden = false;
  };
  if (!token) return incomplete();

  post(inspectPath, { token })
    .then(async (res) => {
      if (res.status === 410) return gone();
      // A 422 here means the token itself is malformed: a link cut off or mangled on the way.
      if (res.status === 422) return incomplete();
      if (res.status === 429) return showOutcome(tooManyText(res), '');
      if (!res.ok) return failed();
      const info = await res.json();
      // As the mail wrote it (the server passes emails/i18n.ts's format): the platform's zone, named, not the reader's.
      const date = new Intl.DateTimeFormat(t.dateLocale, { ...JSON.parse(t.expiryFormat), timeZone: info.timeZone }).format(new Date(info.expiresAt));
      $('status').textContent = fill(t.greeting, { username: info.username });
      $('expiry').textContent = fill(t.validUntil, { date });
      $('username').value = info.username;
      $('password-form').hidden = false;
      $('password').focus();
    })
    .catch(failed);

  $('show').addEventListener('change', (e) => {
    $('password').type = $('confirm').type = e.target.checked ? 'text' : 'password';
  });

  $('password-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const password = $('password').value;
    const error = $('password-error');
    error.textContent = '';
    // The server counts characters after NFKC (security.md 11); so does the page.
    if ([...password.normalize('NFKC')].length < 8) return (error.textContent = t.tooShort), $('password').focus();
    if (password !== $('confirm').value) return (error.textContent = t.mismatch), $('confirm').focus();
    const button = $('submit');
    button.disabled = true;
    button.textContent = t.submitting;
    try {
      const res = await post(completePath, { token, password });
      if (res.ok) return done(await res.json().catch(() => ({})));
      if (res.status === 410) return gone();
      if (res.status === 429) return void (error.textContent = tooManyText(res));
      const problem = res.status === 422 ? await res.json().catch(() => ({})) : {};
      // The server's field messages are English fragments ("is a commonly used password");
      // the page says the same in the reader's language.
      if (res.status === 422 && String(problem.type).endsWith('/weak-password')) error.textContent = t.rejected;
      else if (res.status === 422) return incomplete();
      else error.textContent = t.failed;
      $('password').focus();
    } catch {
      error.textContent = t.failed;
    } finally {
      button.disabled = false;
      button.textContent = t.submit;
    }
  });
}
