// Forgot password: the API answers 202 whether or not the address belongs to an account
// (security.md 9), so the page says the same neutral sentence either way.
import { $, post, showOutcome, t, tooManyText } from './common.js';

const email = $('email');
const fieldError = $('email-error');
const formError = $('form-error');

function invalid(message) {
  fieldError.textContent = message;
  email.setAttribute('aria-invalid', 'true');
  email.focus();
}

$('forgot-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  fieldError.textContent = formError.textContent = '';
  email.removeAttribute('aria-invalid');
  const address = email.value.trim();
  if (!address) return invalid(t.emailMissing);
  if (email.validity.typeMismatch) return invalid(t.emailInvalid);

  const button = $('submit');
  button.disabled = true;
  button.textContent = $('status').textContent = t.submitting;
  try {
    const res = await post('/api/v1/public/password-resets', { email: address });
    if (res.ok) return showOutcome(t.sentTitle, t.sent);
    if (res.status === 422) return invalid(t.emailInvalid);
    formError.textContent = res.status === 429 ? tooManyText(res) : t.failed;
  } catch {
    formError.textContent = t.failed;
  } finally {
    button.disabled = false;
    button.textContent = t.submit;
    if (!$('forgot-form').hidden) $('status').textContent = '';
  }
});
