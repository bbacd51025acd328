import proto, { type temporal } from '@temporalio/proto';
import { describe, expect, it } from 'vitest';
import { countBillableActions, eventTypeNames, historyBytes } from '../bench/actions.js';

/**
 * The Temporal Cloud Action counter of bench/capacity.ts (issue 8, P5) on a small history
 * written by hand, with one of each kind the docs name and the cases they single out:
 * local activities of one workflow task are one Action, retries count, the versioning
 * search attribute and Continue-As-New's own event do not.
 */
const T = proto.temporal.api.enums.v1.EventType;
const marker = (eventId: number, task: number) => ({
  eventId,
  eventType: T.EVENT_TYPE_MARKER_RECORDED,
  markerRecordedEventAttributes: { markerName: 'core_local_activity', workflowTaskCompletedEventId: task },
});
// Event ids are int64 (Long) in the generated types; the counter reads them with Number(),
// which takes a Long (a real history) as well as the plain numbers written here.
const history = {
  events: [
    { eventId: 1, eventType: T.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, workflowExecutionStartedEventAttributes: { workflowType: { name: 'invitationWorkflow' } } },
    { eventId: 2, eventType: T.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED },
    { eventId: 3, eventType: T.EVENT_TYPE_WORKFLOW_TASK_STARTED },
    { eventId: 4, eventType: T.EVENT_TYPE_WORKFLOW_TASK_COMPLETED },
    { eventId: 5, eventType: T.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED, workflowExecutionUpdateAcceptedEventAttributes: { acceptedRequest: { input: { name: 'register' } } } },
    { eventId: 6, eventType: T.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, activityTaskScheduledEventAttributes: { activityType: { name: 'deliverEmail' } } },
    { eventId: 7, eventType: T.EVENT_TYPE_ACTIVITY_TASK_STARTED, activityTaskStartedEventAttributes: { scheduledEventId: 6, attempt: 3 } },
    { eventId: 8, eventType: T.EVENT_TYPE_ACTIVITY_TASK_COMPLETED },
    { eventId: 9, eventType: T.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, workflowTaskCompletedEventAttributes: { meteringMetadata: { nonfirstLocalActivityExecutionAttempts: 1 } } },
    marker(10, 9),
    marker(11, 9),
    { eventId: 12, eventType: T.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, upsertWorkflowSearchAttributesEventAttributes: { searchAttributes: { indexedFields: { InvitationStatus: {}, Username: {} } } } },
    { eventId: 13, eventType: T.EVENT_TYPE_TIMER_STARTED, timerStartedEventAttributes: { timerId: '1' } },
    { eventId: 14, eventType: T.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, workflowExecutionSignaledEventAttributes: { signalName: 'accepted' } },
    { eventId: 15, eventType: T.EVENT_TYPE_TIMER_CANCELED },
    { eventId: 16, eventType: T.EVENT_TYPE_WORKFLOW_TASK_COMPLETED },
    marker(17, 16),
    { eventId: 18, eventType: T.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, upsertWorkflowSearchAttributesEventAttributes: { searchAttributes: { indexedFields: { TemporalChangeVersion: {} } } } },
    { eventId: 19, eventType: T.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED, startChildWorkflowExecutionInitiatedEventAttributes: { workflowType: { name: 'child' } } },
    { eventId: 21, eventType: T.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW },
  ],
} as unknown as temporal.api.history.v1.IHistory;

describe('countBillableActions', () => {
  it('counts each kind as Temporal Cloud bills it', () => {
    const count = countBillableActions(history);
    expect(count.byKind).toEqual({
      'workflow started': 1,
      'update accepted': 1,
      'activity scheduled': 1,
      'activity retry': 2,
      'local activity retry': 1,
      // Two markers of workflow task 9 are one Action, the marker of task 16 another.
      'local activities (one per workflow task)': 2,
      'search attributes upserted': 1,
      'timer started': 1,
      'signal received': 1,
      'child workflow started': 2,
    });
    expect(count.total).toBe(13);
    expect(count.items.map((i) => i.eventId)).toEqual([1, 5, 6, 7, 9, 10, 12, 13, 14, 17, 19]);
    expect(count.items.find((i) => i.kind === 'activity retry')?.detail).toBe('deliverEmail');
  });

  it('counts nothing for an empty history, and names and sizes what it is given', () => {
    expect(countBillableActions({ events: [] })).toEqual({ total: 0, byKind: {}, items: [], events: 0 });
    expect(eventTypeNames({ events: history.events!.slice(0, 2) })).toEqual(['WORKFLOW_EXECUTION_STARTED', 'WORKFLOW_TASK_SCHEDULED']);
    expect(historyBytes({ events: history.events!.slice(0, 1) })).toBeGreaterThan(10);
  });
});
