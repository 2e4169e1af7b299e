import { z } from 'zod';
import { durationTooLongMessage, MAX_DURATION_LENGTH } from '../time/duration.ts';

export const GROUP = 'certsmith.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

/** The parts of ObjectMeta the operator reads. */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** A Kubernetes object as read from the API: spec and status are validated separately, by the controller. */
export interface KubeObject<Spec = unknown, Status = unknown> {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: Spec;
  status?: Status;
}

export const ConditionStatus = z.enum(['True', 'False', 'Unknown']);

export const Condition = z.object({
  type: z.string().describe('Type of the condition, e.g. Ready.'),
  status: ConditionStatus,
  reason: z.string().optional().describe('A CamelCase reason a program can match on.'),
  message: z.string().optional().describe('What happened, for a person.'),
  lastTransitionTime: z.string().optional().describe('When the status last changed (RFC 3339).'),
  observedGeneration: z.number().int().optional().describe('The .metadata.generation the condition was set from.'),
});
export type Condition = z.infer<typeof Condition>;

export const conditionsList = z
  .array(Condition)
  .optional()
  .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] });

export const LocalObjectName = z.string().min(1).max(253);

/**
 * A Go duration ("2160h"), read by src/time/duration.ts. The maxLength lets the API server refuse an over-long one at
 * admission; the operator refuses it the same way before reading it (an object stored before the limit existed).
 */
export const GoDuration = z.string().max(MAX_DURATION_LENGTH, { error: (issue) => durationTooLongMessage(String(issue.input)) });
