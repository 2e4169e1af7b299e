// Label and annotation keys the operator writes and reads.

/** On every Secret the operator manages: its informer watches only Secrets carrying this label. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'certsmith';

/** Name of the Certificate that owns a Secret (label, so it can be selected). */
export const CERTIFICATE_NAME_LABEL = 'certsmith.dev/certificate-name';

export const CERTIFICATE_NAME_ANNOTATION = 'certsmith.dev/certificate-name';
export const ISSUER_NAME_ANNOTATION = 'certsmith.dev/issuer-name';
export const ISSUER_KIND_ANNOTATION = 'certsmith.dev/issuer-kind';
/** The Certificate revision that wrote the Secret's current contents. */
export const REVISION_ANNOTATION = 'certsmith.dev/revision';

export const FIELD_MANAGER = 'certsmith';
