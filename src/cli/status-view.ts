// `certsmith status`: what a person wants to know about one Certificate, built from the objects (pure) and
// printed as text. The view is also the `-o json` output, so its field names are stable.
import { formatPolicy, type PolicyView } from './policy-view.ts';
import type { Certificate } from '../api/certificate.ts';
import { ConditionType, findCondition } from '../api/conditions.ts';
import { ISSUER_KIND_ANNOTATION, ISSUER_NAME_ANNOTATION, RENEW_REVISION_ANNOTATION, REVISION_ANNOTATION } from '../api/labels.ts';
import type { KubeObject } from '../api/meta.ts';
import type { SecretObject } from '../api/secret.ts';
import { describeCertificate, parseCertificatesPem } from '../pki/index.ts';
import { describeKeySpec } from '../pki/keys.ts';
import { age, bytes, formatFields, formatTable, list, timeWithRelative } from './format.ts';

export interface EventLike extends KubeObject {
  type?: string;
  reason?: string;
  message?: string;
  count?: number;
  firstTimestamp?: string;
  lastTimestamp?: string;
  eventTime?: string;
}

export interface ConditionView {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export interface LeafSummary {
  subject: string;
  issuer: string;
  serialNumber: string;
  dnsNames: string[];
  ipAddresses: string[];
  uris: string[];
  emailAddresses: string[];
  notBefore: string;
  notAfter: string;
  publicKey: string;
  isCA: boolean;
  fingerprintSha256: string;
}

export interface SecretSummary {
  name: string;
  exists: boolean;
  type?: string;
  /** Every data key with its decoded size; values are never shown. */
  keys?: { name: string; bytes: number }[];
  revision?: number;
  issuer?: { kind: string; name: string };
  /** The first certificate of tls.crt, when it parses. */
  certificate?: LeafSummary;
  /** Why tls.crt could not be read, when it could not. */
  certificateError?: string;
}

export interface AcmeView {
  /** Absent while the order is being placed. */
  orderURL?: string;
  state: string;
  requestedAt?: string;
  expires?: string;
  nextPollTime?: string;
  challenges: { identifier: string; type: string; state: string; error?: string }[];
}

export interface StatusView {
  namespace: string;
  name: string;
  ready: ConditionView | undefined;
  issuing: ConditionView | undefined;
  conditions: ConditionView[];
  secretName: string;
  issuerRef: { kind: string; name: string };
  dnsNames: string[];
  ipAddresses: string[];
  revision?: number;
  notBefore?: string;
  notAfter?: string;
  renewalTime?: string;
  /** The revision `certsmith renew` asked to replace, while that request is still open. */
  renewalRequestedForRevision?: number;
  failedIssuanceAttempts?: number;
  lastFailureTime?: string;
  nextRetryTime?: string;
  acmeOrder?: AcmeView;
  renewalInfo?: { suggestedWindowStart: string; suggestedWindowEnd: string; explanationURL?: string };
  secret: SecretSummary;
  /** What the issuance policy says now (read by the CLI; absent when not read). */
  policy?: PolicyView;
  events: { type: string; reason: string; message: string; count: number; lastTimestamp?: string }[];
}

export function buildStatusView(cert: Certificate, secret: SecretObject | undefined, events: readonly EventLike[]): StatusView {
  const spec = cert.spec;
  const status = cert.status ?? {};
  const conditions = (status.conditions ?? []).map(conditionView);
  const ready = findCondition(status.conditions, ConditionType.Ready);
  const issuing = findCondition(status.conditions, ConditionType.Issuing);
  const secretName = spec?.secretName ?? '';
  const requested = Number(cert.metadata.annotations?.[RENEW_REVISION_ANNOTATION]);
  const summary = summarizeSecret(secretName, secret);
  const current = Math.max(status.revision ?? 0, summary.revision ?? 0);
  const order = status.acmeOrder;
  const ri = status.renewalInfo;
  return {
    namespace: cert.metadata.namespace ?? '',
    name: cert.metadata.name,
    ready: ready && conditionView(ready),
    issuing: issuing && conditionView(issuing),
    conditions,
    secretName,
    issuerRef: { kind: spec?.issuerRef?.kind ?? 'Issuer', name: spec?.issuerRef?.name ?? '' },
    dnsNames: spec?.dnsNames ?? [],
    ipAddresses: spec?.ipAddresses ?? [],
    ...optional('revision', status.revision),
    ...optional('notBefore', status.notBefore),
    ...optional('notAfter', status.notAfter),
    ...optional('renewalTime', status.renewalTime),
    // Open only while the revision it names is still the current one (the operator's rule).
    ...(Number.isInteger(requested) && requested === current ? { renewalRequestedForRevision: requested } : {}),
    ...optional('failedIssuanceAttempts', status.failedIssuanceAttempts || undefined),
    ...optional('lastFailureTime', status.lastFailureTime),
    ...optional('nextRetryTime', status.nextRetryTime),
    ...(order
      ? {
          acmeOrder: {
            ...optional('orderURL', order.orderURL),
            state: order.state,
            ...optional('requestedAt', order.orderURL ? undefined : order.requestedAt),
            ...optional('expires', order.expires),
            ...optional('nextPollTime', order.nextPollTime),
            challenges: (order.challenges ?? []).map((c) => ({
              identifier: c.identifier,
              type: c.type,
              state: c.state,
              ...optional('error', c.error),
            })),
          },
        }
      : {}),
    ...(ri
      ? {
          renewalInfo: {
            suggestedWindowStart: ri.suggestedWindowStart,
            suggestedWindowEnd: ri.suggestedWindowEnd,
            ...optional('explanationURL', ri.explanationURL),
          },
        }
      : {}),
    secret: summary,
    events: sortEvents(events).map((e) => ({
      type: e.type ?? 'Normal',
      reason: e.reason ?? '',
      message: e.message ?? '',
      count: e.count ?? 1,
      ...optional('lastTimestamp', eventTime(e)),
    })),
  };
}

/** What a Secret holds, without its values: key names and sizes, the revision, the leaf certificate's facts. */
export function summarizeSecret(name: string, secret: SecretObject | undefined): SecretSummary {
  if (!secret) return { name, exists: false };
  const data = secret.data ?? {};
  const keys = Object.keys(data)
    .sort()
    .map((k) => ({ name: k, bytes: Buffer.from(data[k] ?? '', 'base64').length }));
  const annotations = secret.metadata.annotations ?? {};
  const rev = Number(annotations[REVISION_ANNOTATION]);
  const issuerName = annotations[ISSUER_NAME_ANNOTATION];
  const summary: SecretSummary = {
    name,
    exists: true,
    ...optional('type', secret.type),
    keys,
    ...(Number.isInteger(rev) && rev > 0 ? { revision: rev } : {}),
    ...(issuerName ? { issuer: { kind: annotations[ISSUER_KIND_ANNOTATION] ?? 'Issuer', name: issuerName } } : {}),
  };
  const crt = data['tls.crt'] ? Buffer.from(data['tls.crt'], 'base64').toString('utf8') : '';
  if (crt.trim() === '') return { ...summary, certificateError: 'tls.crt is missing or empty' };
  try {
    const der = parseCertificatesPem(crt)[0];
    if (!der) return { ...summary, certificateError: 'tls.crt holds no certificate' };
    return { ...summary, certificate: leafSummary(der) };
  } catch (err) {
    return { ...summary, certificateError: (err as Error).message };
  }
}

export function leafSummary(der: Uint8Array): LeafSummary {
  const info = describeCertificate(der);
  return {
    subject: info.subject,
    issuer: info.issuer,
    serialNumber: info.serialNumber,
    dnsNames: info.dnsNames,
    ipAddresses: info.ipAddresses,
    uris: info.uris,
    emailAddresses: info.emailAddresses,
    notBefore: info.notBefore.toISOString(),
    notAfter: info.notAfter.toISOString(),
    publicKey: describeKeySpec(info.publicKey),
    isCA: info.isCA,
    fingerprintSha256: info.fingerprintSha256,
  };
}

export function formatStatus(v: StatusView, now: Date): string {
  const out: string[] = [];
  const readyText = v.ready
    ? `${v.ready.status}${v.ready.reason ? ` (${v.ready.reason})` : ''}${v.ready.message ? `: ${v.ready.message}` : ''}`
    : 'Unknown: the operator has not reported on this Certificate yet';
  out.push(
    ...formatFields([
      ['Certificate', `${v.namespace}/${v.name}`],
      ['Ready', readyText],
      ['Issuing', v.issuing ? `${v.issuing.status} (${v.issuing.reason ?? ''}): ${v.issuing.message ?? ''}` : undefined],
      ['Issuer', `${v.issuerRef.kind}/${v.issuerRef.name}`],
      ['Policy', v.policy && formatPolicy(v.policy)],
      ['Secret', v.secretName],
      ['Names', list([...v.dnsNames, ...v.ipAddresses])],
      ['Revision', v.revision?.toString()],
      ['Not before', timeWithRelative(v.notBefore, now)],
      ['Not after', timeWithRelative(v.notAfter, now)],
      ['Next renewal', timeWithRelative(v.renewalTime, now)],
      ['Renewal requested', v.renewalRequestedForRevision !== undefined ? `yes, replacing revision ${v.renewalRequestedForRevision}` : undefined],
      ['Failed attempts', v.failedIssuanceAttempts?.toString()],
      ['Last failure', timeWithRelative(v.lastFailureTime, now)],
      ['Next retry', timeWithRelative(v.nextRetryTime, now)],
    ]),
  );

  out.push('', 'Conditions:');
  if (v.conditions.length === 0) out.push('  none');
  else
    out.push(
      ...formatTable(
        ['Type', 'Status', 'Reason', 'Age', 'Message'],
        v.conditions.map((c) => [c.type, c.status, c.reason ?? '', age(c.lastTransitionTime, now), c.message ?? '']),
        '  ',
      ),
    );

  if (v.acmeOrder) {
    const o = v.acmeOrder;
    out.push('', 'ACME order:');
    out.push(
      ...formatFields(
        [
          ['URL', o.orderURL ?? (o.requestedAt ? `(being placed since ${timeWithRelative(o.requestedAt, now)})` : '(being placed)')],
          ['State', o.state],
          ['Expires', timeWithRelative(o.expires, now)],
          ['Next poll', timeWithRelative(o.nextPollTime, now)],
        ],
        '  ',
      ),
    );
    if (o.challenges.length > 0) {
      out.push(
        ...formatTable(
          ['Identifier', 'Type', 'State', 'Error'],
          o.challenges.map((c) => [c.identifier, c.type, c.state, c.error ?? '']),
          '  ',
        ),
      );
    }
  }
  if (v.renewalInfo) {
    const ri = v.renewalInfo;
    out.push('', 'ACME renewal window (ARI):');
    out.push(
      ...formatFields(
        [
          ['From', timeWithRelative(ri.suggestedWindowStart, now)],
          ['Until', timeWithRelative(ri.suggestedWindowEnd, now)],
          ['Explanation', ri.explanationURL],
        ],
        '  ',
      ),
    );
  }

  out.push('', `Secret ${v.secret.name}:`);
  out.push(...formatSecretSummary(v.secret, now, '  '));

  out.push('', 'Events:');
  if (v.events.length === 0) out.push('  none');
  else
    out.push(
      ...formatTable(
        ['Type', 'Reason', 'Age', 'Message'],
        v.events.map((e) => [e.type, e.reason, e.count > 1 ? `${age(e.lastTimestamp, now)} (x${e.count})` : age(e.lastTimestamp, now), e.message]),
        '  ',
      ),
    );
  return out.join('\n') + '\n';
}

export function formatSecretSummary(s: SecretSummary, now: Date, indent: string): string[] {
  if (!s.exists) return [`${indent}does not exist`];
  const c = s.certificate;
  return formatFields(
    [
      ['Type', s.type],
      ['Revision', s.revision?.toString()],
      ['Signed for', s.issuer ? `${s.issuer.kind}/${s.issuer.name}` : undefined],
      ['Data', s.keys && s.keys.length > 0 ? s.keys.map((k) => `${k.name} (${bytes(k.bytes)})`).join(', ') : 'none'],
      ['Subject', c ? c.subject || '(empty)' : undefined],
      ['Issued by', c?.issuer],
      ['Names', c ? list([...c.dnsNames, ...c.ipAddresses, ...c.uris, ...c.emailAddresses]) : undefined],
      ['Key', c?.publicKey],
      ['Expires', c ? timeWithRelative(c.notAfter, now) : undefined],
      ['Serial', c?.serialNumber],
      ['Certificate', !c && s.certificateError ? `unreadable: ${s.certificateError}` : undefined],
    ],
    indent,
  );
}

function conditionView(c: {
  type: string;
  status: string;
  reason?: string | undefined;
  message?: string | undefined;
  lastTransitionTime?: string | undefined;
}): ConditionView {
  return {
    type: c.type,
    status: c.status,
    ...optional('reason', c.reason),
    ...optional('message', c.message),
    ...optional('lastTransitionTime', c.lastTransitionTime),
  };
}

function eventTime(e: EventLike): string | undefined {
  return e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata.creationTimestamp;
}

/** Oldest first, as kubectl describe shows them; ties by name so the order is stable. */
function sortEvents(events: readonly EventLike[]): EventLike[] {
  return [...events].sort((a, b) => (eventTime(a) ?? '').localeCompare(eventTime(b) ?? '') || a.metadata.name.localeCompare(b.metadata.name));
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
