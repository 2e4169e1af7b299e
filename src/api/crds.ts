import { z } from 'zod';
import { CertificateSpec, CertificateStatus } from './certificate.ts';
import { IssuerSpec, IssuerStatus } from './issuer.ts';
import { TrustBundleSpec, TrustBundleStatus } from './trust-bundle.ts';
import { SessionTicketKeysSpec, SessionTicketKeysStatus } from './session-ticket-keys.ts';
import { IssuancePolicySpec, IssuancePolicyStatus } from './issuance-policy.ts';
import { GROUP, VERSION } from './meta.ts';

type JsonSchema = { [key: string]: unknown };

// Keywords a Kubernetes structural schema accepts; everything else zod emits is dropped.
const KEPT_KEYWORDS = new Set([
  'type',
  'description',
  'properties',
  'required',
  'items',
  'enum',
  'minimum',
  'maximum',
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'pattern',
  'format',
  'default',
  'additionalProperties',
  'nullable',
]);

/** Turns zod's JSON Schema into a Kubernetes structural schema (pure; deterministic key order). */
export function toStructuralSchema(schema: JsonSchema): JsonSchema {
  const out: JsonSchema = {};
  for (const key of Object.keys(schema).sort()) {
    const value = schema[key];
    if (key.startsWith('x-kubernetes-')) {
      out[key] = value;
      continue;
    }
    if (!KEPT_KEYWORDS.has(key)) continue;
    if (key === 'properties') {
      const props = value as Record<string, JsonSchema>;
      const converted: Record<string, JsonSchema> = {};
      for (const name of Object.keys(props).sort()) converted[name] = toStructuralSchema(props[name]!);
      // The API server drops an empty map: kept, the stored CRD would differ from the applied one, and every other
      // field manager's server-side apply of the same file (helm after kubectl) would conflict on .spec.versions.
      if (Object.keys(converted).length > 0) out.properties = converted;
    } else if (key === 'items') {
      out.items = toStructuralSchema(value as JsonSchema);
    } else if (key === 'additionalProperties') {
      // Structural schemas forbid additionalProperties next to properties, and `false` is the default.
      if (typeof value === 'object' && value !== null && !schema.properties) {
        out.additionalProperties = toStructuralSchema(value as JsonSchema);
      }
    } else if (key === 'required') {
      out.required = [...(value as string[])].sort();
    } else {
      out[key] = value;
    }
  }
  return out;
}

function jsonSchemaOf(schema: z.ZodType): JsonSchema {
  return toStructuralSchema(z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input' }) as JsonSchema);
}

interface PrinterColumn {
  name: string;
  type: 'string' | 'date' | 'integer' | 'boolean';
  jsonPath: string;
  priority?: number;
  description?: string;
}

interface CrdInput {
  kind: string;
  plural: string;
  singular: string;
  scope: 'Namespaced' | 'Cluster';
  shortNames?: string[];
  spec: z.ZodType;
  status: z.ZodType;
  columns: PrinterColumn[];
  /** CEL rules on the whole object (e.g. on metadata.name), where a spec schema cannot reach. */
  validations?: { rule: string; message: string }[];
}

const readyColumns: PrinterColumn[] = [
  { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
  { name: 'Reason', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].reason', priority: 1 },
  { name: 'Message', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].message', priority: 1 },
];
const ageColumn: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

function crd(input: CrdInput) {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${input.plural}.${GROUP}`,
      labels: { 'app.kubernetes.io/name': 'certsmith', 'app.kubernetes.io/part-of': 'certsmith' },
    },
    spec: {
      group: GROUP,
      names: {
        kind: input.kind,
        listKind: `${input.kind}List`,
        plural: input.plural,
        singular: input.singular,
        ...(input.shortNames ? { shortNames: input.shortNames } : {}),
        categories: ['certsmith'],
      },
      scope: input.scope,
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: input.columns,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: jsonSchemaOf(input.spec),
                status: jsonSchemaOf(input.status),
              },
              ...(input.validations ? { 'x-kubernetes-validations': input.validations } : {}),
            },
          },
        },
      ],
    },
  };
}

/** Every CRD the operator serves, in a stable order. The YAML in crds/ is generated from this. */
export function customResourceDefinitions() {
  return [
    crd({
      kind: 'Certificate',
      plural: 'certificates',
      singular: 'certificate',
      scope: 'Namespaced',
      shortNames: ['cert', 'certs'],
      spec: CertificateSpec,
      status: CertificateStatus,
      columns: [
        readyColumns[0]!,
        { name: 'Secret', type: 'string', jsonPath: '.spec.secretName' },
        { name: 'Issuer', type: 'string', jsonPath: '.spec.issuerRef.name' },
        // 'date' renders as an age, which kubectl prints as <invalid> for a time in the future.
        { name: 'Expires', type: 'string', jsonPath: '.status.notAfter' },
        ...readyColumns.slice(1),
        ageColumn,
      ],
    }),
    crd({
      kind: 'Issuer',
      plural: 'issuers',
      singular: 'issuer',
      scope: 'Namespaced',
      spec: IssuerSpec,
      status: IssuerStatus,
      columns: [...readyColumns, ageColumn],
    }),
    crd({
      kind: 'ClusterIssuer',
      plural: 'clusterissuers',
      singular: 'clusterissuer',
      scope: 'Cluster',
      spec: IssuerSpec,
      status: IssuerStatus,
      columns: [...readyColumns, ageColumn],
    }),
    crd({
      kind: 'TrustBundle',
      plural: 'trustbundles',
      singular: 'trustbundle',
      scope: 'Cluster',
      shortNames: ['tb'],
      spec: TrustBundleSpec,
      status: TrustBundleStatus,
      columns: [
        readyColumns[0]!,
        { name: 'Synced', type: 'string', jsonPath: '.status.conditions[?(@.type=="Synced")].status' },
        { name: 'Targets', type: 'integer', jsonPath: '.status.targetsSynced' },
        { name: 'Earliest Expiry', type: 'string', jsonPath: '.status.earliestExpiry' },
        ...readyColumns.slice(1),
        ageColumn,
      ],
      // Targets carry the bundle's name as a label value, which is at most 63 characters.
      validations: [{ rule: 'size(self.metadata.name) <= 63', message: 'a TrustBundle name is at most 63 characters (it labels the targets)' }],
    }),
    crd({
      kind: 'SessionTicketKeys',
      plural: 'sessionticketkeys',
      singular: 'sessionticketkeys',
      scope: 'Namespaced',
      shortNames: ['stek'],
      spec: SessionTicketKeysSpec,
      status: SessionTicketKeysStatus,
      columns: [
        readyColumns[0]!,
        { name: 'Secret', type: 'string', jsonPath: '.spec.secretName' },
        { name: 'Keys', type: 'integer', jsonPath: '.status.keys' },
        { name: 'Next Rotation', type: 'string', jsonPath: '.status.nextRotationTime' },
        ...readyColumns.slice(1),
        ageColumn,
      ],
      // The Secret carries the name as a label value, which is at most 63 characters.
      validations: [{ rule: 'size(self.metadata.name) <= 63', message: 'a SessionTicketKeys name is at most 63 characters (it labels its Secret)' }],
    }),
    crd({
      kind: 'IssuancePolicy',
      plural: 'issuancepolicies',
      singular: 'issuancepolicy',
      scope: 'Cluster',
      shortNames: ['ipol'],
      spec: IssuancePolicySpec,
      status: IssuancePolicyStatus,
      columns: [
        { name: 'Issuers', type: 'string', jsonPath: '.spec.issuers[*].name' },
        { name: 'Namespaces', type: 'string', jsonPath: '.spec.namespaces.names' },
        ageColumn,
      ],
    }),
  ];
}
