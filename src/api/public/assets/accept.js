// Accept page: reads the token from the URL fragment (never sent to the server by the
// browser), checks it without consuming it, then posts it with the chosen password.
(() => {
  const t = JSON.parse(document.getElementById('strings').textContent);
  const $ = (id) => document.getElementById(id);
  const token = new URLSearchParams(location.hash.slice(1)).get('token');
  // Keep the token out of the address bar and history once read.
  history.replaceState(null, '', location.pathname + location.search);

  const fill = (text, values) => text.replace(/\{(\w+)\}/g, (_, k) => values[k] ?? '');
  const post = (path, body) =>
    fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), credentials: 'same-origin' });

  function outcome(title, text, next, showForgot) {
    $('accept-form').hidden = true;
    $('status').textContent = '';
    $('outcome').hidden = false;
    $('outcome-title').textContent = title;
    $('outcome-text').textContent = text;
    $('outcome-next').textContent = next || '';
    $('outcome-link').hidden = !showForgot;
    $('outcome-title').focus();
  }
  const gone = () => outcome(t.goneTitle, t.gone, t.goneNext, true);
  const incomplete = () => outcome(t.missingTitle, t.missing, '', false);

  if (!token) return incomplete();

  post('/api/v1/public/invitations/inspect', { token })
    .then(async (res) => {
      if (res.status === 410) return gone();
      // A 422 here means the token itself is malformed: a link cut off or mangled on the way.
      if (res.status === 422) return incomplete();
      if (!res.ok) throw new Error(String(res.status));
      const info = await res.json();
      const date = new Intl.DateTimeFormat(t.locale === 'de' ? 'de-DE' : 'en-GB', { dateStyle: 'long', timeStyle: 'short' }).format(new Date(info.expiresAt));
      $('status').textContent = fill(t.greeting, { username: info.username });
      $('expiry').textContent = fill(t.validUntil, { date });
      $('username').value = info.username;
      $('accept-form').hidden = false;
      $('password').focus();
    })
    .catch(() => outcome(t.failed, '', '', false));

  $('show').addEventListener('change', (e) => {
    $('password').type = $('confirm').type = e.target.checked ? 'text' : 'password';
  });

  $('accept-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const password = $('password').value;
    const error = $('password-error');
    error.textContent = '';
    if ([...password.normalize('NFKC')].length < 8) return (error.textContent = t.tooShort), $('password').focus();
    if (password !== $('confirm').value) return (error.textContent = t.mismatch), $('confirm').focus();
    const button = $('submit');
    button.disabled = true;
    button.textContent = t.submitting;
    try {
      const res = await post('/api/v1/public/invitations/accept', { token, password });
      if (res.ok) return outcome(t.doneTitle, t.done, '', false);
      if (res.status === 410) return gone();
      const problem = await res.json().catch(() => ({}));
      // The server's field messages are English fragments ("is a commonly used password");
      // the page says the same in the invitee's language.
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
})();
