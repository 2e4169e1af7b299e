import type { KubeObject } from './meta.ts';

/** A core/v1 Secret as the operator reads and writes it: its type and its base64-encoded data. */
export interface SecretObject extends KubeObject {
  type?: string;
  data?: Record<string, string>;
}
