// Which issuer solver answers the challenge for one name. Pure.
//
// Among the solvers whose selector admits the name — and whose challenge type can validate it at all (a wildcard
// only by DNS-01, an IP address only by HTTP-01) — the most specific wins: a dnsNames match, then the longest
// matching dnsZone, then the most matchLabels, then the first in the list.
import type { AcmeSolver } from '../api/issuer.ts';

export type ChallengeType = 'http-01' | 'dns-01';

export type SolverChoice = { ok: true; index: number; type: ChallengeType } | { ok: false; message: string };

interface Score {
  nameMatch: number;
  zoneLength: number;
  labels: number;
}

export function chooseSolver(
  identifier: { type: 'dns' | 'ip'; value: string },
  solvers: readonly AcmeSolver[],
  certificateLabels: Readonly<Record<string, string>>,
): SolverChoice {
  const name = identifier.value.toLowerCase();
  const wildcard = name.startsWith('*.');
  const base = wildcard ? name.slice(2) : name;
  let best: { index: number; type: ChallengeType; score: Score } | undefined;
  let admittedButIncompatible = 0;

  solvers.forEach((solver, index) => {
    const score = selectorScore(solver, name, base, certificateLabels);
    if (!score) return;
    const type: ChallengeType = solver.dns01 ? 'dns-01' : 'http-01';
    const compatible = identifier.type === 'ip' ? type === 'http-01' : !wildcard || type === 'dns-01';
    if (!compatible) {
      admittedButIncompatible++;
      return;
    }
    if (!best || better(score, best.score)) best = { index, type, score };
  });

  if (best) return { ok: true, index: best.index, type: best.type };
  if (admittedButIncompatible > 0) {
    const why =
      identifier.type === 'ip'
        ? `IP address ${identifier.value} can only be validated over HTTP-01, and no http01 solver selects it`
        : `wildcard ${identifier.value} can only be validated over DNS-01, and no dns01 solver selects it`;
    return { ok: false, message: `${why}: add ${identifier.type === 'ip' ? 'an http01' : 'a dns01'} solver (or widen a selector) on the issuer` };
  }
  return {
    ok: false,
    message: `no solver of the issuer selects ${identifier.value}: add a solver without a selector, or one whose dnsNames, dnsZones or matchLabels admit it`,
  };
}

/** undefined when the selector does not admit the name; otherwise how specifically it does. */
function selectorScore(solver: AcmeSolver, name: string, base: string, labels: Readonly<Record<string, string>>): Score | undefined {
  const sel = solver.selector;
  const matchLabels = Object.entries(sel?.matchLabels ?? {});
  if (!matchLabels.every(([k, v]) => labels[k] === v)) return undefined;
  const names = (sel?.dnsNames ?? []).map((n) => n.toLowerCase());
  const zones = (sel?.dnsZones ?? []).map((z) => z.toLowerCase().replace(/\.$/, ''));
  const nameMatch = names.includes(name);
  const zoneLength = Math.max(0, ...zones.filter((z) => base === z || base.endsWith(`.${z}`)).map((z) => z.length));
  // A selector that names names or zones admits only those.
  if ((names.length > 0 || zones.length > 0) && !nameMatch && zoneLength === 0) return undefined;
  return { nameMatch: nameMatch ? 1 : 0, zoneLength, labels: matchLabels.length };
}

function better(a: Score, b: Score): boolean {
  if (a.nameMatch !== b.nameMatch) return a.nameMatch > b.nameMatch;
  if (a.zoneLength !== b.zoneLength) return a.zoneLength > b.zoneLength;
  return a.labels > b.labels;
}
