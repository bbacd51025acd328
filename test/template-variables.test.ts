import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fillVariables, normaliseVariables, scanVariables, templateProblems } from '../src/email-templates/variables.js';

/**
 * Template variables are found in linear time (issue 15.1): the pattern they replaced took
 * hours on `{{` and 20,000 spaces and held the event loop all that time. The scan counts how
 * often it looks at a character, so linearity is a count, not a stopwatch.
 */

// The pattern the scan replaced, kept here as the reference for what a variable is; safe on the
// short strings fast-check makes, never run on the long ones below.
const reference = (text: string) => [...text.matchAll(/\{\{\s*([^{}]*?)\s*\}\}/g)].map((m) => ({ start: m.index, end: m.index + m[0].length, name: m[1] }));

const MAX_BODY = 20_000;
const adversarial: Record<string, (n: number) => string> = {
  'an opening and spaces, never closed': (n) => `{{${' '.repeat(n - 2)}`,
  'an opening and spaces, closed by one brace': (n) => `{{${' '.repeat(n - 3)}}`,
  'openings only': (n) => '{'.repeat(n),
  'openings and spaces, alternating': (n) => '{{ '.repeat(Math.ceil(n / 3)).slice(0, n),
  'variables closed by one brace each': (n) => '{{ a }'.repeat(Math.ceil(n / 6)).slice(0, n),
  'three braces then a name, repeated': (n) => '{{{a'.repeat(Math.ceil(n / 4)).slice(0, n),
};

describe('finding template variables', () => {
  it.each(Object.entries(adversarial))('looks at each character of %s at most twice, at every size up to the body limit', (_, make) => {
    for (const n of [1_000, 5_000, MAX_BODY]) {
      const text = make(n);
      expect(text.length).toBe(n);
      expect(scanVariables(text).steps).toBeLessThanOrEqual(2 * n);
    }
  });

  it('finds exactly what the old pattern found, in any text of braces, spaces and names', () => {
    const piece = fc.constantFrom('{', '}', '{{', '}}', ' ', '\n', 'a', 'name', 'x y');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }).map((parts) => parts.join('')), (text) => {
        const { tokens, steps } = scanVariables(text);
        expect(tokens).toEqual(reference(text));
        expect(steps).toBeLessThanOrEqual(2 * text.length);
      }),
      { numRuns: 2_000 },
    );
  });

  it('normalises, fills and checks a template by the variables it finds', () => {
    expect(normaliseVariables('Hi {{ username }}, {{\tproductName\n}} {{a}b}} {{{x}}')).toBe('Hi {{username}}, {{productName}} {{a}b}} {{{x}}');
    const values = { link: 'https://l/?a=1&b=2', username: '<u>', expiresAt: 'soon', productName: 'P' };
    expect(fillVariables('user_invitation', '{{invitationLink}} {{ username }} {{other}}', values, (v) => v.replace(/&/g, '&amp;').replace(/</g, '&lt;'))).toBe(
      'https://l/?a=1&amp;b=2 &lt;u> {{other}}',
    );
    expect(templateProblems('user_invitation', { subject: 'x', body: `{{${' '.repeat(MAX_BODY - 2)}` })).toEqual([
      { field: 'body', message: expect.stringContaining('must contain the personal link {{invitationLink}}') },
    ]);
  });
});
