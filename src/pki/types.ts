// Shapes shared by pki/ (which produces them) and policy/ (which decides on them).

export type KeyAlgorithm = 'RSA' | 'ECDSA' | 'Ed25519';
export type KeyEncoding = 'PKCS1' | 'PKCS8';

export interface KeySpec {
  algorithm: KeyAlgorithm;
  /** RSA modulus bits (2048, 3072, 4096, 8192) or ECDSA curve size (256, 384, 521); absent for Ed25519. */
  size?: number;
}

/** Key usages, spelled as cert-manager users know them. */
export type KeyUsageName =
  | 'signing'
  | 'digital signature'
  | 'content commitment'
  | 'key encipherment'
  | 'key agreement'
  | 'data encipherment'
  | 'cert sign'
  | 'crl sign'
  | 'encipher only'
  | 'decipher only'
  | 'any'
  | 'server auth'
  | 'client auth'
  | 'code signing'
  | 'email protection'
  | 's/mime'
  | 'ipsec end system'
  | 'ipsec tunnel'
  | 'ipsec user'
  | 'timestamping'
  | 'ocsp signing'
  | 'microsoft sgc'
  | 'netscape sgc';

export interface SubjectFields {
  commonName?: string;
  organizations?: string[];
  organizationalUnits?: string[];
  countries?: string[];
  localities?: string[];
  provinces?: string[];
}

/** What the operator needs to know about an issued certificate, read from its DER. */
export interface CertInfo {
  subject: string; // RFC 4514-ish string, e.g. "CN=example.com, O=Acme"
  issuer: string;
  commonName?: string;
  subjectFields: SubjectFields;
  serialNumber: string; // lowercase hex
  notBefore: Date;
  notAfter: Date;
  dnsNames: string[];
  ipAddresses: string[]; // as held: ipAddressText (an IPv4-mapped address stays IPv6); compare with canonicalIpAddress
  uris: string[];
  emailAddresses: string[];
  isCA: boolean;
  usages: KeyUsageName[]; // key usages and extended key usages, sorted
  publicKey: KeySpec;
  fingerprintSha256: string; // lowercase hex of SHA-256(DER)
  subjectKeyId?: string; // lowercase hex
  authorityKeyId?: string; // lowercase hex
  selfSigned: boolean; // subject == issuer and signature verifies with its own key
}
