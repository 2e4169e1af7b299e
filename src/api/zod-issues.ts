// How a failed zod parse reads in a condition or an error: "where: what" for each issue, joined by "; ".
import type { z } from 'zod';

export function formatZodIssues(error: z.ZodError, nameOf: (path: readonly PropertyKey[]) => string = specFieldPath): string {
  return error.issues.map((i) => `${nameOf(i.path)}: ${i.message}`).join('; ');
}

/** A field of a resource's spec as written in its YAML ("privateKey.size"), or "spec" for the spec as a whole. */
function specFieldPath(path: readonly PropertyKey[]): string {
  return path.length > 0 ? path.map(String).join('.') : 'spec';
}
