import proto, { type temporal } from '@temporalio/proto';

/**
 * Billable Temporal Cloud Actions of one workflow run, read from its event history, counted
 * as https://docs.temporal.io/cloud/actions defines them (the "Event History" column of each
 * Action type). What a history cannot show is left out and said so: queries (one Action
 * each, never in history; the service sends none), rejected updates (never written),
 * activity heartbeats (throttled by the SDK, only those that reach the server count) and
 * workflow-task heartbeats of long local activities.
 */

type History = temporal.api.history.v1.IHistory;
const EventType = proto.temporal.api.enums.v1.EventType;

export type ActionKind =
  | 'workflow started'
  | 'update accepted'
  | 'signal received'
  | 'timer started'
  | 'activity scheduled'
  | 'activity retry'
  | 'local activities (one per workflow task)'
  | 'local activity retry'
  | 'search attributes upserted'
  | 'child workflow started'
  | 'workflow options updated'
  | 'nexus operation';

export interface BillableAction {
  eventId: number;
  kind: ActionKind;
  actions: number;
  /** The activity type, timer id, signal or update name, … */
  detail: string;
}

export interface ActionCount {
  total: number;
  byKind: Partial<Record<ActionKind, number>>;
  items: BillableAction[];
  events: number;
}

const LOCAL_ACTIVITY_MARKER = 'core_local_activity';
/** Used by workflow versioning (patches); exempt from counting, per the docs. */
const CHANGE_VERSION_ATTRIBUTE = 'TemporalChangeVersion';

const num = (value: unknown): number => (value == null ? 0 : Number(value));

export function countBillableActions(history: History): ActionCount {
  const events = history.events ?? [];
  const items: BillableAction[] = [];
  const add = (eventId: number, kind: ActionKind, actions: number, detail = '') => {
    if (actions > 0) items.push({ eventId, kind, actions, detail });
  };
  // Activity type by the id of its ACTIVITY_TASK_SCHEDULED event, for naming retries.
  const activityTypes = new Map<number, string>();
  // Workflow tasks that recorded at least one local-activity marker: one Action each.
  const localActivityTasks = new Map<number, { firstEventId: number; names: string[] }>();

  for (const event of events) {
    const id = num(event.eventId);
    switch (event.eventType) {
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED: {
        // Also a start by Continue-As-New or Update-with-Start (a multi-operation): one Action.
        // Search attributes given at start are free.
        add(id, 'workflow started', 1, event.workflowExecutionStartedEventAttributes?.workflowType?.name ?? '');
        break;
      }
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED: {
        // An Update-with-Start's update is an Action "in addition to the start".
        const name = event.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name ?? '';
        add(id, 'update accepted', 1, name);
        break;
      }
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
        // Counted where it is received (a signal from another workflow bills the receiver).
        add(id, 'signal received', 1, event.workflowExecutionSignaledEventAttributes?.signalName ?? '');
        break;
      case EventType.EVENT_TYPE_TIMER_STARTED:
        // Includes the implicit timer of TypeScript's condition(fn, timeout).
        add(id, 'timer started', 1, event.timerStartedEventAttributes?.timerId ?? '');
        break;
      case EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: {
        const type = event.activityTaskScheduledEventAttributes?.activityType?.name ?? '';
        activityTypes.set(id, type);
        add(id, 'activity scheduled', 1, type);
        break;
      }
      case EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED: {
        // Intermediate attempts leave no event: the attempt number of the last one tells them.
        const attributes = event.activityTaskStartedEventAttributes;
        const retries = Math.max(0, num(attributes?.attempt) - 1);
        add(id, 'activity retry', retries, activityTypes.get(num(attributes?.scheduledEventId)) ?? '');
        break;
      }
      case EventType.EVENT_TYPE_MARKER_RECORDED: {
        const attributes = event.markerRecordedEventAttributes;
        if (attributes?.markerName !== LOCAL_ACTIVITY_MARKER) break;
        const task = num(attributes.workflowTaskCompletedEventId);
        const entry = localActivityTasks.get(task) ?? { firstEventId: id, names: [] };
        entry.names.push(attributes.markerName);
        localActivityTasks.set(task, entry);
        break;
      }
      case EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED: {
        const retries = num(event.workflowTaskCompletedEventAttributes?.meteringMetadata?.nonfirstLocalActivityExecutionAttempts);
        add(id, 'local activity retry', retries);
        break;
      }
      case EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: {
        // One Action per command, however many attributes it sets; versioning's own is exempt.
        const fields = Object.keys(event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {});
        const onlyVersioning = fields.length > 0 && fields.every((f) => f === CHANGE_VERSION_ATTRIBUTE);
        add(id, 'search attributes upserted', onlyVersioning ? 0 : 1, fields.join(','));
        break;
      }
      case EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
        // Two: recording the intent, and the attempt to start it.
        add(id, 'child workflow started', 2, event.startChildWorkflowExecutionInitiatedEventAttributes?.workflowType?.name ?? '');
        break;
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_OPTIONS_UPDATED:
        add(id, 'workflow options updated', 1);
        break;
      case EventType.EVENT_TYPE_NEXUS_OPERATION_SCHEDULED:
      case EventType.EVENT_TYPE_NEXUS_OPERATION_CANCEL_REQUESTED:
        add(id, 'nexus operation', 1);
        break;
      // Continue-As-New is billed as the new run's WORKFLOW_EXECUTION_STARTED (counted there);
      // a signal to another workflow is billed in the receiver's history.
      default:
        break;
    }
  }
  for (const [task, entry] of localActivityTasks) {
    add(entry.firstEventId, 'local activities (one per workflow task)', 1, `${entry.names.length} marker(s) of workflow task ${task}`);
  }
  items.sort((a, b) => a.eventId - b.eventId);
  const byKind: Partial<Record<ActionKind, number>> = {};
  for (const item of items) byKind[item.kind] = (byKind[item.kind] ?? 0) + item.actions;
  return { total: items.reduce((sum, item) => sum + item.actions, 0), byKind, items, events: events.length };
}

/** Event type names (without the EVENT_TYPE_ prefix) in order, for reports. */
export function eventTypeNames(history: History): string[] {
  return (history.events ?? []).map((e) => (EventType[e.eventType ?? 0] ?? String(e.eventType)).replace(/^EVENT_TYPE_/, ''));
}

/** The history as Temporal stores it, in bytes (protobuf encoding). */
export function historyBytes(history: History): number {
  return proto.temporal.api.history.v1.History.encode(history).finish().length;
}
