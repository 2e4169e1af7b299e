// Duration fields are bounded: the CRDs give each a maxLength, so the API server refuses an over-long one at
// admission, and the operator's schemas refuse one stored before the limit existed before anything parses it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { z } from 'zod';
import { CertificateSpec } from '../../../src/api/certificate.ts';
import { customResourceDefinitions } from '../../../src/api/crds.ts';
import { IssuerSpec } from '../../../src/api/issuer.ts';
import { SessionTicketKeysSpec } from '../../../src/api/session-ticket-keys.ts';
import { formatZodIssues } from '../../../src/api/zod-issues.ts';
import { validateCertificateSpec } from '../../../src/policy/validate-certificate.ts';
import { fieldRows } from '../../../scripts/render-reference.ts';
import { assertLinear } from '../timing.ts';

const DURATION_FIELDS: Record<string, string[]> = {
  Certificate: ['spec.duration', 'spec.renewBefore'],
  Issuer: [
    'spec.ca.managed.duration',
    'spec.ca.managed.propagationDelay',
    'spec.ca.managed.reissueWindow',
    'spec.ca.managed.retireGracePeriod',
    'spec.ca.managed.rotateBefore',
    'spec.ca.podCertificates.maxDuration',
    'spec.ca.reissueWindow',
    'spec.ca.retireGracePeriod',
  ],
  SessionTicketKeys: ['spec.rotationInterval'],
  IssuancePolicy: ['spec.allowed.maxDuration'],
};
DURATION_FIELDS.ClusterIssuer = DURATION_FIELDS.Issuer!;

// A field reads as a duration when its description says so or states a default in hours, minutes or seconds.
const DESCRIBED_AS_DURATION = /Go duration|\(default \d+[hms]\b/;

describe('duration fields in the CRDs', () => {
  for (const crd of customResourceDefinitions()) {
    const kind = crd.spec.names.kind;
    const rows = fieldRows(crd.spec.versions[0]!.schema.openAPIV3Schema as Record<string, unknown>, '');
    it(`${kind}: every duration field is listed here`, () => {
      const described = rows.filter((r) => DESCRIBED_AS_DURATION.test(r.meaning)).map((r) => r.path.slice(1));
      assert.deepEqual(described.sort(), [...(DURATION_FIELDS[kind] ?? [])].sort());
    });
    it(`${kind}: every duration field is a string of at most 64 characters`, () => {
      for (const path of DURATION_FIELDS[kind] ?? []) {
        assert.equal(rows.find((r) => r.path === `.${path}`)?.type, 'string (≤ 64 chars)', path);
      }
    });
  }
});

describe('duration fields in the operator', () => {
  const long = (n: number) => `.${'9'.repeat(n - 2)}h`;
  const cases: { name: string; schema: z.ZodType; spec: (n: number) => unknown; fields: string[] }[] = [
    {
      name: 'a Certificate',
      schema: CertificateSpec,
      spec: (n) => ({ secretName: 's', issuerRef: { name: 'ca' }, dnsNames: ['a.example'], duration: long(n), renewBefore: long(n) }),
      fields: ['duration', 'renewBefore'],
    },
    {
      name: 'an Issuer with a managed CA',
      schema: IssuerSpec,
      spec: (n) => ({ ca: { managed: { commonName: 'CA', duration: long(n), reissueWindow: long(n) } } }),
      fields: ['ca.managed.duration', 'ca.managed.reissueWindow'],
    },
    {
      name: 'SessionTicketKeys',
      schema: SessionTicketKeysSpec,
      spec: (n) => ({ secretName: 'k', rotationInterval: long(n) }),
      fields: ['rotationInterval'],
    },
  ];
  for (const c of cases) {
    it(`refuses ${c.name} with 65-character durations, naming each field and quoting only its start`, () => {
      const parsed = c.schema.safeParse(c.spec(65));
      assert.ok(!parsed.success);
      const expected = c.fields.map(
        (f) =>
          `${f}: ".999999999999999…" (65 characters) is not a valid duration (longer than the limit of 64 characters): use Go syntax such as "2160h" or "90m" (units h, m, s, ms; no days)`,
      );
      assert.equal(formatZodIssues(parsed.error), expected.join('; '));
    });
    it(`accepts ${c.name} with 64-character durations`, () => assert.ok(c.schema.safeParse(c.spec(64)).success));
  }

  // What the Certificate reconciler does with a spec: two 700 kB durations took 0.4 s of the event loop here.
  it('refuses a Certificate with two 700 kB durations in well under 10 ms', (t) => {
    const validate = (spec: unknown) => {
      const parsed = CertificateSpec.safeParse(spec);
      return parsed.success ? validateCertificateSpec(parsed.data) : [formatZodIssues(parsed.error)];
    };
    const spec = cases[0]!.spec;
    assert.ok(validate(spec(700_000)).join('').length < 500, 'the message quotes only the start of each value');
    t.diagnostic(assertLinear({ input: spec, run: validate, size: 700_000, ceilingMs: 10 }));
  });
});
