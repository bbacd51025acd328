import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../src/config.js';
import { configDocPath, configSourcePath, readSettings, renderConfigurationDoc } from '../scripts/config-docs.js';

/**
 * docs/configuration.md is generated from src/config.ts (npm run docs:config): the schema
 * decides names and defaults, the JSDoc above each key what it says. One source, so the
 * document cannot drift from what the processes really accept.
 */
describe('the configuration document', () => {
  it('is what src/config.ts generates today (run `npm run docs:config` after changing the schema)', () => {
    expect(readFileSync(configDocPath, 'utf8')).toBe(renderConfigurationDoc());
  });

  it('names every variable of the schema, with the default the schema applies', () => {
    const doc = readFileSync(configDocPath, 'utf8');
    const defaults = configSchema.parse({});
    for (const name of Object.keys(configSchema.shape)) {
      expect(doc, name).toContain(`### \`${name}\``);
    }
    // The rendered defaults are the schema's own: parsing them gives what parsing nothing gives.
    const rendered = Object.fromEntries(readSettings().flatMap((s) => (s.default === undefined ? [] : [[s.name, s.default]])));
    expect(configSchema.parse(rendered)).toEqual(defaults);
    expect(doc).toContain('| [`INVITATION_TTL`](#invitation_ttl) ✱ | `28 days` |');
  });

  it('cannot be generated while a variable has no description or no reader', () => {
    const source = readFileSync(configSourcePath, 'utf8');
    const undocumented = source.replace(/\/\*\*[^/]*?\*\/\n(\s+INVITATION_TTL:)/, '$1');
    expect(undocumented).not.toBe(source);
    expect(() => readSettings(undocumented)).toThrow(/INVITATION_TTL: no description/);
    const noReader = source.replace(/(\* @readBy )api worker start(\n\s+\*\/\n\s+INVITATION_TTL:)/, '$1$2');
    expect(noReader).not.toBe(source);
    expect(() => readSettings(noReader)).toThrow(/INVITATION_TTL: "@readBy" must list/);
  });
});
