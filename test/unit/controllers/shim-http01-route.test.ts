import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ingressRouteOf, needsHttp01Route } from '../../../src/controllers/certificates/acme/http01-objects.ts';

const classHint = { 'certsmith.dev/acme-http01-ingress-class': 'nginx' };
const editHint = { 'certsmith.dev/acme-http01-edit-in-place': 'shop' };

describe('needsHttp01Route', () => {
  const cases: { name: string; annotations: Record<string, string> | undefined; solver: { ingress?: object }; routed: boolean }[] = [
    { name: 'a plain http01 solver and a plain Certificate: the operator is reached directly', annotations: undefined, solver: {}, routed: false },
    { name: 'the issuer asks for an Ingress', annotations: undefined, solver: { ingress: {} }, routed: true },
    { name: 'a Certificate made for an Ingress of a class', annotations: classHint, solver: {}, routed: true },
    { name: 'a Certificate made for an Ingress that asks for edit in place', annotations: editHint, solver: {}, routed: true },
    { name: 'a Certificate made for a Gateway', annotations: { 'certsmith.dev/acme-http01-gateway': 'gw' }, solver: {}, routed: true },
    { name: 'annotations of others do not count', annotations: { 'example.com/x': 'y' }, solver: {}, routed: false },
  ];
  for (const c of cases) it(c.name, () => assert.equal(needsHttp01Route(c.annotations, c.solver), c.routed));
});

describe('ingressRouteOf: the hints win over the issuer', () => {
  const cases: {
    name: string;
    annotations: Record<string, string> | undefined;
    solver: { ingress?: { name?: string; ingressClassName?: string } };
    route: object;
  }[] = [
    {
      name: "no hints: the issuer's class",
      annotations: undefined,
      solver: { ingress: { ingressClassName: 'traefik' } },
      route: { ingressClassName: 'traefik' },
    },
    { name: "no hints: the issuer's edit in place", annotations: undefined, solver: { ingress: { name: 'web' } }, route: { editInPlace: 'web' } },
    {
      name: "the Ingress's class over the issuer's",
      annotations: classHint,
      solver: { ingress: { ingressClassName: 'traefik' } },
      route: { ingressClassName: 'nginx' },
    },
    {
      name: "the Ingress's class over the issuer's edit in place",
      annotations: classHint,
      solver: { ingress: { name: 'web' } },
      route: { ingressClassName: 'nginx' },
    },
    {
      name: 'edit in place over a class',
      annotations: { ...classHint, ...editHint },
      solver: { ingress: { ingressClassName: 'traefik' } },
      route: { editInPlace: 'shop' },
    },
    { name: 'no hints and no ingress: a temporary Ingress of the default class', annotations: undefined, solver: {}, route: {} },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(ingressRouteOf(c.annotations, c.solver), c.route));
});
