// Renders docs/reference/*.md — every CRD field with its type, default and meaning — from the same structural
// schemas the CRDs in crds/ are generated from (src/api/crds.ts), so the reference cannot drift from the API.
// Pure and deterministic: properties are walked in the (sorted) order toStructuralSchema gives them.
import { customResourceDefinitions } from '../src/api/crds.ts';
import { MAX_DURATION_LENGTH } from '../src/time/duration.ts';

type JsonSchema = { [key: string]: unknown };

export interface FieldRow {
  path: string;
  type: string;
  required: boolean;
  default: string;
  meaning: string;
}

export interface RuleRow {
  path: string;
  rule: string;
  message: string;
}

// zod writes an unbounded integer as ±MAX_SAFE_INTEGER: a limit that says nothing.
const NO_LIMIT = Number.MAX_SAFE_INTEGER;

/** The type column: the JSON type with its constraints (enum, range, length, pattern, format). */
export function typeOf(schema: JsonSchema): string {
  let base: string;
  if (schema.type === 'array') {
    const items = (schema.items ?? {}) as JsonSchema;
    base = `[]${items.type === 'object' && items.properties ? 'object' : typeOf(items)}`;
  } else if (schema.type === 'object' && schema.additionalProperties && !schema.properties) {
    base = `map[string]${typeOf(schema.additionalProperties as JsonSchema)}`;
  } else {
    base = typeof schema.type === 'string' ? schema.type : 'any';
  }
  const limits: string[] = [];
  if (Array.isArray(schema.enum)) limits.push(`one of ${schema.enum.map((v) => `\`${String(v)}\``).join(', ')}`);
  const min = typeof schema.minimum === 'number' && schema.minimum > -NO_LIMIT ? schema.minimum : undefined;
  const max = typeof schema.maximum === 'number' && schema.maximum < NO_LIMIT ? schema.maximum : undefined;
  if (min !== undefined && max !== undefined) limits.push(`${min}–${max}`);
  else if (min !== undefined) limits.push(`≥ ${min}`);
  else if (max !== undefined) limits.push(`≤ ${max}`);
  const range = (lo: unknown, hi: unknown, unit: string) => {
    if (typeof lo === 'number' && typeof hi === 'number') limits.push(lo === hi ? `${lo} ${unit}` : `${lo}–${hi} ${unit}`);
    else if (typeof lo === 'number') limits.push(`≥ ${lo} ${unit}`);
    else if (typeof hi === 'number') limits.push(`≤ ${hi} ${unit}`);
  };
  range(schema.minLength, schema.maxLength, 'chars');
  range(schema.minItems, schema.maxItems, 'items');
  if (typeof schema.format === 'string') limits.push(`format ${schema.format}`);
  if (typeof schema.pattern === 'string') limits.push(`pattern \`${schema.pattern}\``);
  if (schema['x-kubernetes-list-type'] === 'map' && Array.isArray(schema['x-kubernetes-list-map-keys'])) {
    limits.push(`list map keyed by ${(schema['x-kubernetes-list-map-keys'] as string[]).join(', ')}`);
  }
  return limits.length > 0 ? `${base} (${limits.join('; ')})` : base;
}

/**
 * The default column: the schema's `default` when set; otherwise what the description states — the schemas keep
 * defaults in the text ("(default ECDSA)", "(key default: tls.key)", "Default: when 1/3 …"), applied by the
 * operator rather than the API server.
 */
export function defaultOf(schema: JsonSchema): string {
  if (schema.default !== undefined) return `\`${JSON.stringify(schema.default)}\``;
  const text = typeof schema.description === 'string' ? schema.description : '';
  // Per clause, so "RSA 2048/… (default 2048); ECDSA 256/… (default 256)" keeps what each default is for.
  const found: { clause: string; value: string }[] = [];
  for (const clause of text.split(/;\s+/)) {
    const keyDefault = /\(key default: ([^)]+)\)/i.exec(clause);
    const stated = keyDefault ? [keyDefault[0], `key: ${keyDefault[1]}`] : /\(default:? ([^)]+)\)/i.exec(clause);
    const marked = /^(?:.*?\.\s+)?([\w-]+): [^()]*\(default\)/.exec(clause);
    const sentence = /\bDefault: ([^.]+)/.exec(clause);
    const value = stated?.[1] ?? marked?.[1] ?? sentence?.[1];
    if (value !== undefined) found.push({ clause, value: value.trim() });
  }
  if (found.length <= 1) return found[0]?.value ?? '';
  return found.map((f) => `${f.clause.split(/\s/)[0]} ${f.value}`).join('; ');
}

/** Every field below `schema`, depth first in property order; `[]` marks an array's items. */
export function fieldRows(schema: JsonSchema, prefix: string): FieldRow[] {
  const rows: FieldRow[] = [];
  const walk = (node: JsonSchema, path: string) => {
    const props = node.properties as Record<string, JsonSchema> | undefined;
    if (props) {
      const required = new Set((node.required as string[] | undefined) ?? []);
      for (const name of Object.keys(props)) {
        const child = props[name]!;
        const childPath = `${path}.${name}`;
        rows.push({
          path: childPath,
          type: typeOf(child),
          required: required.has(name),
          default: defaultOf(child),
          meaning: typeof child.description === 'string' ? child.description : '',
        });
        walk(child, childPath);
      }
    }
    if (node.type === 'array' && node.items) walk(node.items as JsonSchema, `${path}[]`);
  };
  walk(schema, prefix);
  return rows;
}

/** The CEL rules (x-kubernetes-validations) below `schema`, with the path they apply to. */
export function ruleRows(schema: JsonSchema, path: string): RuleRow[] {
  const rows: RuleRow[] = [];
  for (const v of (schema['x-kubernetes-validations'] as { rule: string; message: string }[] | undefined) ?? []) {
    rows.push({ path, rule: v.rule, message: v.message });
  }
  for (const [name, child] of Object.entries((schema.properties as Record<string, JsonSchema> | undefined) ?? {})) {
    rows.push(...ruleRows(child, path === '' ? name : `${path}.${name}`));
  }
  if (schema.type === 'array' && schema.items) rows.push(...ruleRows(schema.items as JsonSchema, `${path}[]`));
  return rows;
}

/** A Markdown table cell: one line, pipes escaped. */
export function cell(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|');
}

function code(text: string): string {
  // A backtick inside the text would end the code span early: use a longer fence then.
  return text.includes('`') ? `\`\` ${text} \`\`` : `\`${text}\``;
}

export function fieldTable(rows: FieldRow[]): string {
  const lines = ['| Field | Type | Required | Default | Meaning |', '| --- | --- | --- | --- | --- |'];
  for (const r of rows) {
    lines.push(`| ${cell(code(r.path))} | ${cell(r.type)} | ${r.required ? 'yes' : ''} | ${cell(r.default)} | ${cell(r.meaning)} |`);
  }
  return lines.join('\n') + '\n';
}

export function ruleTable(rows: RuleRow[]): string {
  const lines = ['| On | Rule | Message |', '| --- | --- | --- |'];
  for (const r of rows) lines.push(`| ${cell(code(r.path))} | ${cell(code(r.rule))} | ${cell(r.message)} |`);
  return lines.join('\n') + '\n';
}

type Crd = ReturnType<typeof customResourceDefinitions>[number];

interface Page {
  file: string;
  title: string;
  crds: Crd[];
  intro: string;
  /** Markdown at the end: how a field group is used, where a table of fields cannot say it. */
  guide?: string;
}

// The signer side of ca.podCertificates, for the Issuer page (docs/pod-certificates.md has the whole story).
const POD_CERTIFICATES_GUIDE = `## Pod certificates (\`ca.podCertificates\`)

A \`ca\` issuer with \`podCertificates\` signs Kubernetes PodCertificateRequests (certificates.k8s.io/v1, Kubernetes
1.37+): the kubelet makes each pod's key and projects key and chain into a \`podCertificate\` volume. Its status names
the signer it serves (\`status.podCertificateSignerName\`):

| Issuer | Signer name | Signs for |
| --- | --- | --- |
| ClusterIssuer \`<name>\` | \`spec.ca.podCertificates.signerName\`, default \`certsmith.dev/<name>\` | every namespace the IssuancePolicy lets use it |
| Issuer \`<name>\` in \`<ns>\` | \`certsmith.dev/ns.<ns>.<name>\` (fixed) | pods of \`<ns>\` only |

A pod asking for one (the certificate names \`spiffe://cluster.local/ns/<ns>/sa/<service account>\`, for server and
client auth; \`certsmith.dev/dns-names\` is the one user annotation read):

\`\`\`yaml
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: team-a}
spec:
  containers:
    - name: web
      image: registry.example/web:1.0
      volumeMounts: [{name: identity, mountPath: /var/run/certsmith, readOnly: true}]
  volumes:
    - name: identity
      projected:
        sources:
          - podCertificate:
              signerName: certsmith.dev/mesh
              keyType: ECDSAP256
              credentialBundlePath: credentials.pem
              userAnnotations: {certsmith.dev/dns-names: web.team-a.svc}
          - clusterTrustBundle: {signerName: certsmith.dev/mesh, labelSelector: {}, path: ca.pem}
\`\`\`

Each request is answered once: \`Issued\` (chain, \`notBefore\`, \`beginRefreshAt\`, \`notAfter\`), \`Denied\` with
\`NamespaceNotServed\`, \`PodMismatch\`, \`InvalidRequest\`, \`UnsupportedKeyType\`,
\`InvalidUnverifiedUserAnnotations\` or \`PolicyDenied\`, or \`Failed\` \`SigningFailed\`. See
[pod-certificates.md](../pod-certificates.md).
`;

const PAGES: { file: string; kinds: string[]; intro: string; guide?: string }[] = [
  {
    file: 'certificate.md',
    kinds: ['Certificate'],
    intro: 'A Certificate asks for one X.509 certificate, written with its key into one `kubernetes.io/tls` Secret and renewed on time.',
  },
  {
    file: 'issuer.md',
    kinds: ['Issuer', 'ClusterIssuer'],
    intro:
      'An Issuer (namespaced: signs for Certificates in its namespace) or ClusterIssuer (cluster-scoped: for every namespace) says how certificates are signed: exactly one of `selfSigned`, `ca` or `acme`. Both kinds share one schema.',
    guide: POD_CERTIFICATES_GUIDE,
  },
  {
    file: 'trustbundle.md',
    kinds: ['TrustBundle'],
    intro:
      'A TrustBundle gathers CA certificates from its sources into one deduplicated, sorted PEM bundle and writes it into ConfigMaps and/or Secrets in the namespaces it selects.',
  },
  {
    file: 'sessionticketkeys.md',
    kinds: ['SessionTicketKeys'],
    intro:
      "A SessionTicketKeys keeps 48-byte TLS session-ticket keys in one Secret of its namespace and rotates them on an interval, so the replicas of a service that mount it resume each other's sessions (read with `watchTicketKeys` of certsmith/reload; see docs/reload.md).",
  },
  {
    file: 'issuancepolicy.md',
    kinds: ['IssuancePolicy'],
    intro:
      'An IssuancePolicy (cluster-scoped, written by cluster admins) says which namespaces may use which issuers, and for which names, IP ranges, URIs, emails, key types, usages, CA flag and lifetimes. It is checked before any key, order or signature; a refused Certificate is `Ready=False PolicyDenied`. See docs/policy.md.',
  },
];

function renderPage(page: Page): string {
  const first = page.crds[0]!;
  const version = first.spec.versions[0]!;
  const root = version.schema.openAPIV3Schema as unknown as JsonSchema;
  const props = root.properties as Record<string, JsonSchema>;
  const out: string[] = [];
  out.push('<!-- Generated from src/api by `npm run generate`. Do not edit. -->\n');
  out.push(`# ${page.title}\n`);
  out.push(`${page.intro}\n`);
  out.push('| Kind | API version | Scope | Plural | Short names |');
  out.push('| --- | --- | --- | --- | --- |');
  for (const crd of page.crds) {
    const n = crd.spec.names;
    const short = 'shortNames' in n && n.shortNames ? n.shortNames.map(code).join(', ') : '';
    out.push(`| ${n.kind} | \`${crd.spec.group}/${crd.spec.versions[0]!.name}\` | ${crd.spec.scope} | \`${n.plural}\` | ${short} |`);
  }
  out.push('');
  out.push("Defaults not set by the schema are applied by the operator; the Default column quotes them from the field's description.\n");
  for (const part of ['spec', 'status'] as const) {
    out.push(`## ${part}\n`);
    out.push(fieldTable(fieldRows(props[part]!, part)));
  }
  const rules = ruleRows(root, '');
  if (rules.length > 0) {
    out.push('## Validation rules\n');
    out.push('Checked by the API server (CEL) when an object is created or changed.\n');
    out.push(ruleTable(rules.map((r) => ({ ...r, path: r.path === '' ? '(object)' : r.path }))));
  }
  out.push('## Printer columns\n');
  out.push('| Column | JSONPath | Shown |');
  out.push('| --- | --- | --- |');
  for (const c of version.additionalPrinterColumns) {
    out.push(`| ${c.name} | ${cell(code(c.jsonPath))} | ${c.priority ? '`-o wide`' : 'always'} |`);
  }
  if (page.guide) out.push('', page.guide.trimEnd());
  return out.join('\n') + '\n';
}

function renderIndex(pages: Page[]): string {
  const out = ['<!-- Generated from src/api by `npm run generate`. Do not edit. -->\n', '# API reference (`certsmith.dev/v1alpha1`)\n'];
  out.push('Every field of every custom resource, generated from the zod schemas in `src/api/` — the same schemas the CRDs in `crds/` come from.\n');
  for (const p of pages) out.push(`- [${p.title}](${p.file})`);
  out.push('\n## Durations\n');
  out.push(
    [
      'Duration fields are strings in Go syntax: `2160h`, `90m`, `1h30m`, `1.5h` (units `h`, `m`, `s`, `ms`, `us`, `ns`; no days,',
      `nothing negative), of at most ${MAX_DURATION_LENGTH} characters (the longest Go writes has 24). The API server refuses a`,
      'longer one at admission; one stored before the limit existed is refused by the operator before it is read, in the',
      "object's Ready condition with the field named. The Ingress and Gateway annotations `certsmith.dev/duration` and",
      "`certsmith.dev/renew-before` (and cert-manager's, when honoured) are held to the same limit, and a refusal shows as a",
      '`BadConfig` event on the Ingress or',
      'Gateway. A message quotes only the first 16 characters of an over-long value.',
    ].join(' '),
  );
  return out.join('\n') + '\n';
}

/** File name (under docs/reference/) → Markdown. */
export function renderReferenceFiles(crds: Crd[] = customResourceDefinitions()): Record<string, string> {
  const pages: Page[] = PAGES.map((p) => ({
    file: p.file,
    title: p.kinds.join(' and '),
    intro: p.intro,
    ...(p.guide ? { guide: p.guide } : {}),
    crds: p.kinds.map((k) => {
      const crd = crds.find((c) => c.spec.names.kind === k);
      if (!crd) throw new Error(`no CRD of kind ${k} to document`);
      return crd;
    }),
  }));
  const documented = new Set(PAGES.flatMap((p) => p.kinds));
  const missing = crds.map((c) => c.spec.names.kind).filter((k) => !documented.has(k));
  if (missing.length > 0) throw new Error(`CRDs without a reference page: ${missing.join(', ')} (add them to PAGES)`);
  const files: Record<string, string> = { 'README.md': renderIndex(pages) };
  for (const p of pages) files[p.file] = renderPage(p);
  return files;
}
