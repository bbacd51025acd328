import { readdirSync, readFileSync } from 'node:fs';
import { historyFromJson } from './support/history-json.js';
import { Worker } from '@temporalio/worker';
import { describe, expect, it, inject } from 'vitest';
import { dataConverterFor, parsePayloadKeys, PayloadEncryptionCodec } from '../src/temporal/payload-codec.js';
import { HISTORY_FIXTURE_PAYLOAD_KEYS } from './histories/fixture-key.js';
import { quietTemporalRuntime } from './support/harness.js';

/**
 * Workflows already running in production must keep replaying on the code we ship: each
 * recorded history in test/histories/ (every workflow type, along each of its paths) is
 * replayed against today's workflow bundle, and a change that would make a running workflow
 * take another step than its history says fails here (a nondeterminism error), not in
 * production. To change a workflow incompatibly on purpose: patching, or a new workflow
 * type (docs/operations.md, "Upgrading with running workflows").
 */
const directory = new URL('./histories/', import.meta.url);
const recorded = readdirSync(directory)
  .filter((file) => file.endsWith('.json'))
  .map((file) => {
    const history = historyFromJson(JSON.parse(readFileSync(new URL(file, directory), 'utf8')));
    const type = history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? '';
    return { name: file.replace(/\.json$/, ''), type, history };
  });

describe('recorded workflow histories replay on the current workflow code', () => {
  it('cover every workflow type and path', () => {
    expect(recorded.map((r) => `${r.name}: ${r.type}`).sort()).toEqual([
      'bulk-invitation: bulkInvitationWorkflow',
      'email-resend: emailResendWorkflow',
      'invitation-accepted-patched: invitationWorkflow',
      'invitation-accepted: invitationWorkflow',
      'invitation-expired-patched: invitationWorkflow',
      'invitation-expired: invitationWorkflow',
      'invitation-revoked: invitationWorkflow',
      'password-reset: passwordResetWorkflow',
      'reactivation: reactivationWorkflow',
      'webhook-delivery: webhookDeliveryWorkflow',
      'webhook-dispatcher: webhookDispatcherWorkflow',
    ]);
    // Each one ran to its end, so the whole of the workflow's code path is checked; the
    // dispatcher never ends by itself, so its recording was ended by hand after some rounds.
    for (const { name, history } of recorded) {
      const last = history.events?.at(-1);
      if (name === 'webhook-dispatcher') expect(last?.workflowExecutionTerminatedEventAttributes, name).toBeTruthy();
      else expect(last?.workflowExecutionCompletedEventAttributes, name).toBeTruthy();
    }
  });

  it('cover both sides of the invitation workflow\'s `deadline-independent-of-mail` patch', () => {
    const patches = (name: string) =>
      (recorded.find((r) => r.name === name)?.history.events ?? [])
        .filter((event) => event.markerRecordedEventAttributes?.markerName === 'core_patch')
        .map((event) => JSON.parse(Buffer.from(event.markerRecordedEventAttributes!.details!['patch-data']!.payloads![0]!.data!).toString('utf8')).id as string);
    for (const name of ['invitation-accepted', 'invitation-expired']) {
      expect(patches(name), name).toEqual([]);
      expect(patches(`${name}-patched`), `${name}-patched`).toEqual(['deadline-independent-of-mail']);
    }
  });

  it('all replay without a nondeterminism error', async () => {
    quietTemporalRuntime();
    // A codec with the key the histories were recorded with: the worker decodes as in production.
    const dataConverter = dataConverterFor(new PayloadEncryptionCodec(parsePayloadKeys(HISTORY_FIXTURE_PAYLOAD_KEYS)));
    const results = Worker.runReplayHistories(
      { workflowBundle: { codePath: inject('workflowBundlePath') }, dataConverter, replayName: 'recorded-histories' },
      recorded.map(({ name, history }) => ({ workflowId: name, history })),
    );
    const outcomes: Record<string, string> = {};
    for await (const result of results) outcomes[result.workflowId] = result.error ? `${result.error.name}: ${result.error.message}` : 'replayed';
    expect(outcomes).toEqual(Object.fromEntries(recorded.map(({ name }) => [name, 'replayed'])));
  });
});
