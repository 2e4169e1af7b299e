// The parts of Gateway API objects (gateway.networking.k8s.io/v1) the operator reads and writes. Gateway API is
// not part of Kubernetes: its CRDs may be missing from a cluster, so nothing here is required at startup.
import type { KubeObject } from './meta.ts';

export const GATEWAY_API_GROUP = 'gateway.networking.k8s.io';

/**
 * On a Certificate made for a Gateway: the Gateway (same namespace) whose HTTP listener carries the HTTP-01
 * route, so the CA's request reaches the operator through the same Gateway that serves the names.
 */
export const GATEWAY_HTTP01_ANNOTATION = 'certsmith.dev/acme-http01-gateway';

export interface SecretObjectReference {
  group?: string;
  kind?: string;
  name: string;
  namespace?: string;
}

export interface GatewayListener {
  name: string;
  hostname?: string;
  port: number;
  /** HTTP, HTTPS, TLS, TCP, UDP, or an implementation's own. */
  protocol: string;
  tls?: {
    /** Terminate (the default) or Passthrough. */
    mode?: string;
    certificateRefs?: SecretObjectReference[];
  };
}

export interface GatewayObject extends KubeObject<{ gatewayClassName: string; listeners?: GatewayListener[] }> {}

export interface ParentReference {
  group?: string;
  kind?: string;
  namespace?: string;
  name: string;
  sectionName?: string;
  port?: number;
}

export interface HttpRouteRule {
  matches?: { path?: { type?: string; value?: string } }[];
  backendRefs?: { group?: string; kind?: string; name: string; namespace?: string; port?: number; weight?: number }[];
}

export interface HttpRouteObject extends KubeObject<{ parentRefs?: ParentReference[]; hostnames?: string[]; rules?: HttpRouteRule[] }> {}
