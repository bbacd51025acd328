// Progressive enhancement only: every page works without this file.
// 1. The email info window follows a mail on its way (queued, retrying) until it is sent or
//    failed, so "Erneut senden" shows its result without a reload by hand.
const poll = document.querySelector('[data-poll]');
if (poll) {
  const url = poll.getAttribute('data-poll');
  const set = (id, text) => {
    const el = document.getElementById(id);
    if (el && el.textContent !== String(text)) el.textContent = String(text);
  };
  const tick = async () => {
    try {
      const res = await fetch(url, { headers: { accept: 'application/json' }, credentials: 'same-origin' });
      if (!res.ok) return;
      const mail = await res.json();
      const status = document.getElementById('mail-status');
      if (status) status.className = `badge ${mail.status}`;
      set('mail-status', mail.label);
      set('mail-attempts', mail.attempts);
      set('mail-answer', mail.answer);
      set('mail-message-id', mail.messageId);
      if (mail.status === 'sent' || mail.status === 'failed') return;
    } catch {
      // offline for a moment: try again
    }
    setTimeout(tick, 1000);
  };
  setTimeout(tick, 500);
}

// 2. A form that asks for confirmation (delete) says so once more before it goes.
for (const form of document.querySelectorAll('form[data-confirm]')) {
  form.addEventListener('submit', (event) => {
    if (!window.confirm(form.getAttribute('data-confirm'))) event.preventDefault();
  });
}
