// Label and annotation keys the operator writes and reads.

/** On every Secret the operator manages: its informer watches only Secrets carrying this label. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'certsmith';

/**
 * On certsmith's own Secrets — a managed CA, ACME account and order keys, session-ticket keys — what they hold. Such
 * a Secret is never a Certificate's Secret, whatever a Certificate's secretName says.
 */
export const INTERNAL_SECRET_LABEL = 'certsmith.dev/internal';
export const InternalSecret = {
  managedCa: 'managed-ca',
  acmeAccountKey: 'acme-account-key',
  acmeOrderKey: 'acme-order-key',
  sessionTicketKeys: 'session-ticket-keys',
} as const;
export type InternalSecret = (typeof InternalSecret)[keyof typeof InternalSecret];

/** Name of the Certificate that owns a Secret (label, so it can be selected). */
export const CERTIFICATE_NAME_LABEL = 'certsmith.dev/certificate-name';

export const CERTIFICATE_NAME_ANNOTATION = 'certsmith.dev/certificate-name';
export const ISSUER_NAME_ANNOTATION = 'certsmith.dev/issuer-name';
export const ISSUER_KIND_ANNOTATION = 'certsmith.dev/issuer-kind';
/** The Certificate revision that wrote the Secret's current contents. */
export const REVISION_ANNOTATION = 'certsmith.dev/revision';
/**
 * On a Certificate: re-issue now, replacing this revision (`certsmith renew` sets it). Done once the Secret holds
 * another revision; a revision the Secret does not hold is ignored.
 */
export const RENEW_REVISION_ANNOTATION = 'certsmith.dev/renew-revision';

export const FIELD_MANAGER = 'certsmith';

// Certificates made from annotated Ingresses (and Gateways): who made them. The controller ownerReference is the
// truth; these labels let a person (or a selector) find them: kubectl get certificates -l certsmith.dev/owner-name=web
export const SHIM_OWNER_KIND_LABEL = 'certsmith.dev/owner-kind';
export const SHIM_OWNER_NAME_LABEL = 'certsmith.dev/owner-name';

// HTTP-01 routing hints a shim puts on the Certificates it makes; they override the issuer's http01.ingress.
/** Class of the temporary solver Ingress: the class of the Ingress the Certificate was made from. */
export const ACME_HTTP01_INGRESS_CLASS_ANNOTATION = 'certsmith.dev/acme-http01-ingress-class';
/** Name of the Ingress (same namespace) the challenge path is added to instead of a temporary Ingress. */
export const ACME_HTTP01_EDIT_IN_PLACE_ANNOTATION = 'certsmith.dev/acme-http01-edit-in-place';

// A managed CA's Secret (ca.managed): which issuer it belongs to ("<kind>/<namespace>/<name>"), so a Secret of the
// same name made by someone else is never overwritten, and since when its signing CA signs.
export const CA_ISSUER_ANNOTATION = 'certsmith.dev/ca-issuer';
export const CA_SIGNING_SINCE_ANNOTATION = 'certsmith.dev/ca-signing-since';

/** An ACME account key Secret the operator generated: which issuer's account ("<kind>/[<namespace>/]<name>"). */
export const ACME_ACCOUNT_OF_ANNOTATION = 'certsmith.dev/acme-account-of';

/**
 * With --shards N > 1: the shard ("<k>-of-<N>") a Certificate and its Secret are worked in. The operator sets it;
 * replicas watch only their shards' values.
 */
export const SHARD_LABEL = 'certsmith.dev/shard';
