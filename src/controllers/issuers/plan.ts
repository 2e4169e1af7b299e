// What a reconcile of an issuer does, decided from its spec alone. Pure.
import { IssuerSpec, type AcmeIssuer, type Issuer, type ManagedCa } from '../../api/issuer.ts';
import { invalidSpec, type IssuerCheck } from './status.ts';

/** The ca section of a spec that names a CA Secret the user manages. */
export type UserCaSpec = Pick<NonNullable<IssuerSpec['ca']>, 'reissueWindow' | 'retireGracePeriod'>;

export type IssuerAction =
  /** Nothing to act on: the check says what is wrong. */
  | { kind: 'report'; check: IssuerCheck }
  /** Make sure the ACME account exists, is registered and still valid (acme-account.ts). */
  | { kind: 'ensureAcmeAccount'; acme: AcmeIssuer }
  /** Take the managed CA one step through its rotation (managed-ca.ts). */
  | { kind: 'stepManagedCa'; managed: ManagedCa }
  /** Read the signer: self-signed, or the CA in the user's Secret, whose replacement is followed (user-ca.ts). */
  | { kind: 'readSigner'; ca: UserCaSpec };

export function planAction(issuer: Pick<Issuer, 'spec'>): IssuerAction {
  const parsed = IssuerSpec.safeParse(issuer.spec);
  if (!parsed.success) return { kind: 'report', check: invalidSpec(parsed.error) };
  const spec = parsed.data;
  if (spec.acme) return { kind: 'ensureAcmeAccount', acme: spec.acme };
  if (spec.ca?.managed) return { kind: 'stepManagedCa', managed: spec.ca.managed };
  // A spec that sets no type at all is the signer source's to report (the API server's rules normally stop it).
  return { kind: 'readSigner', ca: spec.ca ?? {} };
}
